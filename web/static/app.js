// posventa's page helpers (no inline handlers: the Content-Security-Policy allows only own scripts).
(function () {
  "use strict";
  // <select data-autosubmit>: submit its form on change (language, plan version).
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("select[data-autosubmit]")) {
      ev.target.form.submit();
    }
  });
  // <input data-select-all>: select the whole value on click (links and tokens to copy).
  // A click outside an open navigation menu (<details class="navmenu">) closes it; Escape too.
  document.addEventListener("click", function (ev) {
    if (ev.target.matches && ev.target.matches("input[data-select-all]")) {
      ev.target.select();
    }
    document.querySelectorAll("details.navmenu[open]").forEach(function (menu) {
      if (!menu.contains(ev.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    document.querySelectorAll("details.navmenu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
    });
  });
  // <form data-position>: before it is sent, ask the phone where it is and fill the form's
  // lat, lon and accuracy inputs (the check-in: how far from the customer's address). Sent as
  // it is when the phone says nothing within 10 s, is refused, or has no geolocation.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-position]") || !navigator.geolocation) return;
    ev.preventDefault();
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    var sent = false;
    function send() {
      if (sent) return;
      sent = true;
      form.submit();
    }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lat.value = String(pos.coords.latitude);
      form.elements.lon.value = String(pos.coords.longitude);
      form.elements.accuracy.value = String(pos.coords.accuracy);
      send();
    }, send, { enableHighAccuracy: true, timeout: 10000, maximumAge: 120000 });
    setTimeout(send, 12000);  // a browser that never answers (no permission prompt shown)
  });
  // <p id="route-changed" data-url data-version data-interval>: the phone page asks now and then
  // whether its route changed, and shows the notice when it did (no reload: a note may be
  // half written).
  var watch = document.getElementById("route-changed");
  if (watch) {
    var timer = setInterval(function () {
      fetch(watch.getAttribute("data-url"), { credentials: "same-origin",
                                               headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (body && body.version !== watch.getAttribute("data-version")) {
            watch.hidden = false;
            clearInterval(timer);
          }
        })
        .catch(function () {});
    }, 1000 * Number(watch.getAttribute("data-interval") || 60));
  }
  window.addEventListener("pageshow", function () {  // back to a page kept by the browser
    document.querySelectorAll("form[data-position] button[disabled]").forEach(function (b) {
      b.disabled = false;
    });
  });
  // <input data-customer-search=URL list=ID>: as a name or phone is typed, the customers
  // matching it become the input's suggestions (each suggestion's value is the customer number).
  var searchTimer = null;
  document.addEventListener("input", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches("input[data-customer-search]")) return;
    var q = input.value.trim();
    if (/^[0-9]+$/.test(q) && q.length < 3) return;  // a customer number being typed
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      fetch(input.getAttribute("data-customer-search") + "?q=" + encodeURIComponent(q),
            { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (matches) {
          var list = document.getElementById(input.getAttribute("list"));
          list.replaceChildren.apply(list, matches.map(function (m) {
            var option = document.createElement("option");
            option.value = String(m.id);
            option.label = m.label;
            option.textContent = m.label;
            return option;
          }));
        })
        .catch(function () {});
    }, 200);
  });
})();
