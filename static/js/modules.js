/* Module pages (no inline scripts: CSP).
   - Forms marked .mod-confirm ask before deleting.
   - After Move up / Move down the page reloads; focus returns to the same button (?focus=up-12) so the
     keyboard user can press it again, and the button's row is scrolled into view. */
(function () {
  "use strict";
  document.querySelectorAll("form.mod-confirm").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm") || "Are you sure?")) event.preventDefault();
    });
  });
  var focus = new URLSearchParams(window.location.search).get("focus");
  if (focus && /^(up|down)-\d+$/.test(focus)) {
    var button = document.getElementById(focus);
    if (button && button.disabled) {
      var other = document.getElementById((focus.indexOf("up") === 0 ? "down-" : "up-") + focus.split("-")[1]);
      button = other && !other.disabled ? other : null;
    }
    if (button) { button.focus(); button.scrollIntoView({block: "center"}); }
  }
})();
