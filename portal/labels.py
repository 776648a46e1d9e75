"""Human labels for enum values, translated lazily (msgids in English)."""
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from portal.messages import register
from portal.models import Channel, Kind, LocationType, Relation, Role, Severity, Status

KIND = {
    Kind.COMPLAINT: _l("Complaint"),
    Kind.REPAIR: _l("Repair"),
    Kind.ENQUIRY: _l("Enquiry"),
    Kind.SUGGESTION: _l("Suggestion"),
}
CHANNEL = {
    Channel.PHONE: _l("Phone / hotline"),
    Channel.WALK_IN: _l("Walk-in"),
    Channel.LETTER: _l("Letter"),
    Channel.EMAIL: _l("E-mail"),
    Channel.BOX: _l("Complaint box"),
    Channel.WECHAT: _l("WeChat"),
    Channel.ONLINE: _l("Online portal"),
    Channel.CALLBACK: _l("Found during a callback"),
}
SEVERITY = {
    Severity.MAJOR: _l("Major"),
    Severity.IMPORTANT: _l("Important"),
    Severity.MINOR: _l("Minor"),
}
STATUS = {
    Status.REGISTERED: _l("Registered"),
    Status.ACKNOWLEDGED: _l("Acknowledged"),
    Status.DISPATCHED: _l("Dispatched"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.THIRD_PARTY: _l("Waiting on third party"),
    Status.WAITING_RESIDENT: _l("Waiting on resident"),
    Status.RESOLVED: _l("Resolved"),
    Status.CALLBACK_DONE: _l("Callback done"),
    Status.CLOSED: _l("Closed"),
    Status.INVALID: _l("Invalid"),
    Status.CANNOT_HANDLE: _l("Cannot be handled"),
}
ROLE = {
    Role.RESIDENT: _l("Resident"),
    Role.CLERK: _l("Customer service"),
    Role.DEPARTMENT: _l("Department"),
    Role.MANAGER: _l("Manager"),
}
RELATION = {
    Relation.OWNER: _l("Unit owner"),  # 业主 (a bare "Owner" is a case's owner, 负责人)
    Relation.FAMILY: _l("Family member"),
    Relation.TENANT: _l("Tenant"),
}
LOCATION = {
    LocationType.UNIT: _l("My unit"),
    LocationType.COMMON: _l("Common area"),
}

register(kind=KIND, channel=CHANNEL, severity=SEVERITY, status=STATUS, role=ROLE, relation=RELATION,
         location=LOCATION)


def opts(pairs) -> list[SelectChoice]:
    """SelectField choices from (value, label) pairs."""
    return [SelectChoice(value, text) for value, text in pairs]


def choices(mapping) -> list[SelectChoice]:
    """SelectField choices for an enum's labels."""
    return opts((member.value, text) for member, text in mapping.items())


_TABLES: dict[tuple[int, str], dict] = {}


def table(mapping) -> dict:
    """{raw value: label} in the current language, translated once per mapping and language (keys: enum
    members or plain strings)."""
    from flask_babel import get_locale
    key = (id(mapping), str(get_locale()))
    found = _TABLES.get(key)
    if found is None:
        found = _TABLES[key] = {getattr(member, "value", member): str(text) for member, text in mapping.items()}
    return found


def label(mapping, value) -> str:
    """Label for an enum member or its raw value; unknown values pass through."""
    if value is None:
        return ""
    raw = getattr(value, "value", value)
    return table(mapping).get(raw, str(value))
