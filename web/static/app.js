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
  document.addEventListener("click", function (ev) {
    if (ev.target.matches && ev.target.matches("input[data-select-all]")) {
      ev.target.select();
    }
  });
})();
