// Record every script error and console.error in <pre id="js-errors"> (data-count), so that a
// headless browser's --dump-dom shows whether the page ran cleanly.
(function () {
  var seen = [];
  function record(text) {
    seen.push(String(text));
    var box = document.getElementById("js-errors");
    if (box) {
      box.textContent = seen.join("\n");
      box.dataset.count = String(seen.length);
      box.hidden = false;
    }
  }
  window.addEventListener("error", function (e) { record(e.message || e); });
  window.addEventListener("unhandledrejection", function (e) { record(e.reason); });
  var original = console.error;
  console.error = function () {
    record(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
  document.addEventListener("DOMContentLoaded", function () { if (seen.length) record(""); });
})();
