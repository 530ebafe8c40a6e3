/* Posts forms onward without a click: OIDC login redirects and the deep-linking response use
   <form data-autosubmit>. Each form keeps a visible submit button for when this script cannot run. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.dataset.autosubmitted) return;
      form.dataset.autosubmitted = "true";
      // The prototype call still works when a control is named "submit" and shadows form.submit.
      HTMLFormElement.prototype.submit.call(form);
    });
  });
})();
