// The showcase's presentation mode: one slide at a time, with Previous/Next buttons, the arrow keys (and
// Page Up/Down, Home, End) and a full-screen button for the projector. Without JavaScript every slide is shown,
// one after the other.
(function () {
  "use strict";
  function start(root) {
    var slides = Array.prototype.slice.call(root.querySelectorAll(".lib-slide"));
    if (!slides.length) { return; }
    var controls = root.querySelector("[data-showcase-controls]");
    var position = root.querySelector("[data-showcase-position]");
    var prev = root.querySelector("[data-showcase-prev]");
    var next = root.querySelector("[data-showcase-next]");
    var full = root.querySelector("[data-showcase-full]");
    var current = 0;
    var fromHash = slides.findIndex(function (s) { return "#" + s.id === window.location.hash; });
    if (fromHash >= 0) { current = fromHash; }
    root.classList.add("lib-presenting");
    controls.hidden = false;

    function show(index) {
      current = Math.max(0, Math.min(slides.length - 1, index));
      slides.forEach(function (slide, i) { slide.hidden = i !== current; });
      position.textContent = (current + 1) + " of " + slides.length;
      prev.disabled = current === 0;
      next.disabled = current === slides.length - 1;
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#" + slides[current].id);
      }
    }

    prev.addEventListener("click", function () { show(current - 1); });
    next.addEventListener("click", function () { show(current + 1); });
    document.addEventListener("keydown", function (event) {
      var tag = (event.target && event.target.tagName) || "";
      if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag) || event.altKey || event.ctrlKey || event.metaKey) { return; }
      var moves = {ArrowRight: 1, ArrowDown: 1, PageDown: 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1};
      if (event.key in moves) {
        event.preventDefault();
        show(current + moves[event.key]);
      } else if (event.key === "Home") {
        event.preventDefault();
        show(0);
      } else if (event.key === "End") {
        event.preventDefault();
        show(slides.length - 1);
      }
    });
    if (full && root.requestFullscreen) {
      full.addEventListener("click", function () {
        if (document.fullscreenElement) { document.exitFullscreen(); } else { root.requestFullscreen(); }
      });
    } else if (full) {
      full.hidden = true;
    }
    show(current);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-showcase]"), start);
  });
}());
