// telewatch web: keyboard shortcuts on the alert queue, charts scrolled to their newest end.
// No build step; htmx does the requests.
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".alert-row")); }
  function current() { return document.querySelector(".alert-row.selected"); }
  function select(row) {
    var old = current();
    if (old) { old.classList.remove("selected"); }
    if (!row) { return; }
    row.classList.add("selected");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var at = list.indexOf(current());
    select(list[Math.max(0, Math.min(list.length - 1, at + step))] || list[0]);
  }
  function press(key) {
    var row = current();
    if (!row) { return; }
    var button = row.querySelector('button[data-key="' + key + '"]');
    if (button) { button.click(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) { return; }
    if (!document.querySelector(".alert-row")) { return; }
    var key = event.key;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "r" || key === "f" || key === "m" || key === "c") { press(key); }
    else if (key === "o" || key === "Enter") {
      var row = current();
      if (row && row.dataset.post) { window.location.href = row.dataset.post; }
    } else { return; }
    event.preventDefault();
  });
  // After htmx swaps a marked row in, keep it selected so the next key acts on the next row.
  document.addEventListener("htmx:afterSwap", function (event) {
    var row = event.detail && event.detail.target;
    if (row && row.id && document.getElementById(row.id)) {
      var fresh = document.getElementById(row.id);
      if (fresh.classList.contains("alert-row")) { select(fresh); }
    }
  });
  // Charts wider than a phone open scrolled to their newest end.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".chart-wrap.newest").forEach(function (wrap) { wrap.scrollLeft = wrap.scrollWidth; });
  });
  document.addEventListener("click", function (event) {
    var row = event.target && event.target.closest ? event.target.closest(".alert-row") : null;
    if (row) { select(row); }
  });
})();
