// Small progressive enhancements; every form works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The top bar's menu folds behind a button on a phone (CSS decides when the button shows).
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest(".nav-toggle");
    if (!button) return;
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (nav) nav.classList.toggle("open", open);
  });

  // Polling must not wipe out a row someone is working in. (A listener, not an hx-trigger
  // filter: filters are evaluated as code, which the Content-Security-Policy forbids.)
  window.portalIdle = function (el) {
    if (!el) return false;
    if (el.contains(document.activeElement) && document.activeElement !== document.body) return false;
    // Nor the cases ticked for a bulk action.
    return !el.querySelector("details[open] form") && !el.querySelector("input[form=bulk]:checked, input[form=bulk-ack]:checked");
  };
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var el = ev.detail.elt;
    var cause = ev.detail.requestConfig && ev.detail.requestConfig.triggeringEvent;
    if (cause && cause.type === "cases-changed") return;  // a bulk action changed the rows: always refresh
    if (el && el.hasAttribute("data-poll-when-idle") && !window.portalIdle(el)) ev.preventDefault();
  });

  // Inline handlers are forbidden by the Content-Security-Policy: these data attributes replace them.
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("focusin", function (ev) {
    if (ev.target.matches("[data-select-on-focus]")) ev.target.select();
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("[data-autosubmit]") && ev.target.form) ev.target.form.requestSubmit();
  });

  // "Select all on this page" for a bulk form: ticks the rows' boxes that belong to that form.
  document.addEventListener("change", function (ev) {
    var all = ev.target.closest && ev.target.closest("[data-check-all]");
    if (!all) return;
    document.querySelectorAll("input[type=checkbox][form='" + all.getAttribute("data-check-all") + "']")
      .forEach(function (box) { box.checked = all.checked; });
  });

  // Ticking a row opens the bulk form it belongs to.
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (!box.matches || !box.matches("input[type=checkbox][form]") || !box.checked) return;
    var form = document.getElementById(box.getAttribute("form"));
    var details = form && form.querySelector("details");
    if (details) details.open = true;
  });

  // Choosing a resident on the registration form fills the contact fields, never over what was typed.
  document.addEventListener("change", function (ev) {
    var choice = ev.target;
    if (!choice.matches || !choice.matches("input[data-fill-contact_name]") || !choice.form) return;
    ["contact_name", "contact_phone"].forEach(function (name) {
      var box = choice.form.elements[name];
      var value = choice.getAttribute("data-fill-" + name) || "";
      if (!box || (box.value && box.value !== box.dataset.filled)) return;
      box.value = value;
      box.dataset.filled = value;
    });
  });

  // Standard phrases: click a chip to insert its text into the reply.
  document.addEventListener("click", function (ev) {
    var chip = ev.target.closest("[data-insert]");
    if (!chip) return;
    var box = document.getElementById(chip.dataset.into);
    if (!box) return;
    box.value = (box.value ? box.value + "\n" : "") + chip.dataset.insert;
    box.focus();
  });

  // Plain (non-htmx) forms: show progress and block double submits.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-disable-on-submit")) return;
    form.classList.add("htmx-request");
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      setTimeout(function () { b.disabled = true; }, 0);
    });
  });

  // Accessibility after a swap: one persistent live region (#live in base.html) speaks the notice or the
  // count that arrived, and focus moves to what changed (the first error, the notice, the row or its
  // heading) instead of falling back to <body> when the focused element was replaced.
  function announce(text) {
    var live = document.getElementById("live");
    if (!live || !text) return;
    live.textContent = "";
    setTimeout(function () { live.textContent = text.replace(/\s+/g, " ").trim(); }, 50);
  }
  function focusOn(el) {
    if (!el) return;
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) el.setAttribute("tabindex", "-1");
    el.focus({ preventScroll: false });
  }
  function lost() {
    var a = document.activeElement;
    return !a || a === document.body || !document.body.contains(a);
  }
  window.portalAfterSwap = function (root) {
    if (!root || !root.querySelector) return;
    var error = root.querySelector("[data-error-summary], .form-errors");
    var notice = root.querySelector("#action-notice") || root.querySelector(".notice, .flash");
    var count = root.querySelector(".count");
    if (error) { announce(error.textContent); focusOn(error); return; }
    if (notice) announce(notice.textContent); else if (count) announce(count.textContent);
    if (!lost()) return;
    focusOn(notice || root.querySelector("h1, h2, h3") || root);
  };
  document.addEventListener("htmx:afterSettle", function (ev) {
    var config = ev.detail.requestConfig;
    // Only what a person did moves focus: not polling (no event), "load", "revealed" or "intersect".
    var trigger = config && config.triggeringEvent;
    if (!trigger || /^(load|revealed|intersect)$/.test(trigger.type)) return;
    var target = ev.detail.target;
    if (target && !document.body.contains(target)) target = target.id ? document.getElementById(target.id) : null;
    window.portalAfterSwap(target || ev.detail.elt);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var error = document.querySelector("[data-error-summary]");
    if (error) focusOn(error);
    var flash = document.querySelector(".flashes");
    if (flash) announce(flash.textContent);
  });

  // Enter in a search box fires "change" and "submit" (and the delayed "input" after them): the
  // filter forms send one request per distinct query, so an identical one within a second is dropped.
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var form = ev.detail.elt;
    if (!form || form.tagName !== "FORM" || !form.classList.contains("filters")) return;
    var query = new URLSearchParams(new FormData(form)).toString();
    var now = Date.now();
    if (form._lastQuery === query && now - form._lastAt < 1000) { ev.preventDefault(); return; }
    form._lastQuery = query;
    form._lastAt = now;
  });

  function toast(message) {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail.xhr;
    var text = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var msg = doc.querySelector(".error-message");
      text = msg ? msg.textContent : "";
    } catch (e) { /* fall through */ }
    toast(text || (document.documentElement.lang === "en" ? "Something went wrong (" + xhr.status + ")." : "操作失败（" + xhr.status + "），请稍后重试。"));
  });
  document.addEventListener("htmx:sendError", function () {
    toast(document.documentElement.lang === "en" ? "Cannot reach the server. Check the connection." : "无法连接服务器，请检查网络。");
  });

  // The complainant's number, revealed by a logged "Call" (templates/_privacy.html): the dialling link
  // takes the focus and the next tap dials. Never dial from script: a tel: navigation started after an
  // htmx request carries no user gesture, and Chromium treats it as leaving the page (beforeunload) and
  // drops the taps that follow until it resolves, so the next action panel the user opened stayed shut.
  document.addEventListener("htmx:afterSettle", function () {
    var link = document.querySelector("a[data-dial]:not([data-dialled])");
    if (!link) return;
    link.setAttribute("data-dialled", "");
    link.focus({ preventScroll: true });
  });
})();
