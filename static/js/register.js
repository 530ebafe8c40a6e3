/* Dynamic Registration finished: tell the LMS to close its registration dialog (LTI-DR §3.7,
   postMessage {subject: "org.imsglobal.lti.close"}). Canvas frames the tool (window.parent); Moodle may
   open a window (window.opener). The Close button repeats it for a dialog that did not close. */
(function () {
  "use strict";
  function notifyPlatform() {
    var message = { subject: "org.imsglobal.lti.close" };
    [window.parent, window.opener].forEach(function (target) {
      if (target && target !== window) {
        try { target.postMessage(message, "*"); } catch (e) { /* a closed opener: nothing to tell */ }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-lti-close]")) return;
    notifyPlatform();
    var button = document.querySelector("[data-lti-close-button]");
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        notifyPlatform();
        if (window.opener) window.close();
      });
    }
  });
})();
