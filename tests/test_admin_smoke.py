from tests.admin_helpers import client_of, org  # noqa: F401


def test_every_page_opens(org, client_of):
    c = client_of("manager")
    urls = ["/admin/estates", f"/admin/estates/{org['a'].id}", f"/admin/estates/{org['a'].id}/units",
            f"/admin/units/{org['ref']['units'][0].id}", "/admin/residents", f"/admin/residents/{org['resident'].id}",
            "/admin/staff", "/admin/staff/new", f"/admin/staff/{org['clerk'].id}", "/admin/departments",
            f"/admin/departments/{org['ref']['eng'].id}", "/admin/categories",
            f"/admin/categories/{org['ref']['water'].id}", "/admin/audit"]
    for url in urls:
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code)
