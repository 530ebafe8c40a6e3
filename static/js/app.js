/* Small progressive enhancements for every page. Loaded with defer; no inline scripts (CSP).
   Copy buttons: <button data-copy-target="input-id" data-copy-status="status-id" hidden>Copy</button>
   The button is shown only when this script runs; the status element (role=status) announces the result. */
(function () {
  "use strict";

  function announce(button, text) {
    var statusId = button.getAttribute("data-copy-status");
    var status = statusId && document.getElementById(statusId);
    if (!status) return;
    status.textContent = text;
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () { status.textContent = ""; }, 4000);
  }

  function fallbackCopy(source) {
    // Clipboard API is often refused inside an LMS iframe; execCommand still works on a selection.
    source.focus();
    if (typeof source.select === "function") source.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  function copyFrom(button) {
    var id = button.getAttribute("data-copy-target").replace(/^#/, "");
    var source = document.getElementById(id);
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var done = function () { announce(button, "Copied to the clipboard."); };
    var failed = function () {
      if (fallbackCopy(source)) { done(); return; }
      announce(button, "Could not copy: the text is selected, press Ctrl+C (or ⌘C) to copy it.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  }

  function init() {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copyFrom(button); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
