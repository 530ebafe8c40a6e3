// Submits the sandbox LMS's hand-off forms (LTI login initiation, id_token post) as soon as the page loads.
(function () {
  function go() {
    var form = document.querySelector("form[data-autosubmit]");
    if (form) { form.submit(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", go);
  } else {
    go();
  }
})();
