// The mail provider form: the port follows the security (while it holds
// a default or nothing), and only the fields of the chosen type and
// authentication show. The server fills the same defaults without this.
"use strict";
(function () {
  var form = document.querySelector("form[data-mail-provider]");
  if (!form) return;
  var defaults = {
    imap: { tls: "993", starttls: "143", none: "143" },
    smtp: { tls: "465", starttls: "587", none: "587" }
  };
  Object.keys(defaults).forEach(function (proto) {
    var sec = form.elements[proto + "_security"], port = form.elements[proto + "_port"];
    if (!sec || !port) return;
    var known = Object.keys(defaults[proto]).map(function (k) { return defaults[proto][k]; });
    sec.addEventListener("change", function () {
      if (port.value === "" || known.indexOf(port.value) >= 0) port.value = defaults[proto][sec.value] || "";
    });
  });
  function show() {
    var type = form.elements.type.value, auth = form.elements.auth.value;
    form.querySelectorAll("[data-mail-type]").forEach(function (el) { el.hidden = el.getAttribute("data-mail-type") !== type; });
    form.querySelectorAll("[data-auth]").forEach(function (el) { el.hidden = el.getAttribute("data-auth") !== auth; });
  }
  form.elements.type.addEventListener("change", show);
  form.elements.auth.addEventListener("change", show);
  show();
})();
