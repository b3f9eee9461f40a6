// Reviewing pages: single-key shortcuts on the review page and "select all" in the queue. Everything also works
// without this script; it only saves clicks for people who review all day.
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat || typing(event.target)) {
      return;
    }
    var control = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (control) {
      event.preventDefault();
      control.click();
    }
  });

  var all = document.querySelector("[data-select-all]");
  if (all) {
    var boxes = document.querySelectorAll('input[type="checkbox"][name="example"]');
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
  }
})();
