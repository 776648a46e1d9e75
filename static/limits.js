// Checks before sending: photo count and size, text length, a character counter on long text
// fields. The limits and messages come from the server (data-* attributes written by the `field`
// macro from the same settings the server checks again), so a refused form is never sent and
// nothing typed is lost. No inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  function clientError(input, messages) {
    var field = input.closest(".field") || input.parentNode;
    field.querySelectorAll("[data-client-error]").forEach(function (p) { p.remove(); });
    if (!messages.length) {
      if (!field.querySelector(".error")) field.classList.remove("has-error");
      input.removeAttribute("aria-invalid");
      return true;
    }
    messages.forEach(function (text, i) {
      var p = document.createElement("p");
      p.className = "error";
      p.setAttribute("data-client-error", "");
      p.setAttribute("role", "alert");
      if (i === 0) p.id = input.id + "-client-error";
      p.textContent = text;
      field.appendChild(p);
    });
    field.classList.add("has-error");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", input.id + "-client-error");
    return false;
  }

  function checkFiles(input) {
    var files = Array.prototype.slice.call(input.files || []), problems = [];
    var cap = +input.dataset.maxFiles, limit = +input.dataset.maxBytes;
    if (files.length > cap) problems.push(input.dataset.msgCount);
    files.forEach(function (f) {
      if (f.size > limit) problems.push(input.dataset.msgSize.replace("{name}", f.name));
    });
    return clientError(input, problems);
  }

  function count(box) {
    return Array.from(box.value).length;  // characters as the server counts them, not UTF-16 units
  }

  function checkText(box) {
    var n = count(box), max = +box.dataset.maxlength;
    return clientError(box, n > max ? [box.dataset.msgLength.replace("{count}", n)] : []);
  }

  function counter(box) {
    var field = box.closest(".field") || box.parentNode;
    var out = field.querySelector(".counter");
    if (!out) {
      out = document.createElement("small");
      out.className = "counter";
      out.setAttribute("aria-live", "polite");
      box.insertAdjacentElement("afterend", out);
    }
    var n = count(box), max = +box.dataset.maxlength;
    out.textContent = n + " / " + max;
    out.classList.toggle("over", n > max);
  }

  function setUp(root) {
    root.querySelectorAll("textarea[data-maxlength]").forEach(counter);
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:load", function (ev) { setUp(ev.detail.elt); });
  document.addEventListener("input", function (ev) {
    if (!ev.target.matches("textarea[data-maxlength]")) return;
    counter(ev.target);
    if (ev.target.closest(".field").querySelector("[data-client-error]")) checkText(ev.target);
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("input[type=file][data-max-files]")) checkFiles(ev.target);
  });

  // Capture phase: runs before htmx and the double-submit guard, and stops both when refused.
  document.addEventListener("submit", function (ev) {
    var form = ev.target, ok = true, first = null;
    form.querySelectorAll("input[type=file][data-max-files], textarea[data-maxlength]").forEach(function (el) {
      var good = el.matches("textarea") ? checkText(el) : checkFiles(el);
      if (!good && !first) first = el;
      ok = ok && good;
    });
    if (ok) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    first.focus();
  }, true);
})();
