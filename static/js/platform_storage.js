// LTI Platform Storage (lti.put_data / lti.get_data, 1EdTech lti-cs-pm / Canvas): keeps the login's
// state in the LMS's own frame so a launch works when third-party cookies are blocked.
(function () {
  "use strict";
  var box = document.getElementById("platform-storage");
  if (!box) { return; }
  var mode = box.dataset.mode, state = box.dataset.state, origin = box.dataset.origin;
  var targetName = box.dataset.target;
  var target = window.parent;
  try { if (targetName && window.parent.frames[targetName]) { target = window.parent.frames[targetName]; } }
  catch (e) { target = window.parent; }
  var messageId = "cop-" + Math.random().toString(36).slice(2);
  var done = false;

  function finishPut() {
    if (done) { return; }
    done = true;
    window.location.href = box.dataset.redirect;
  }

  function finishGet(value) {
    if (done) { return; }
    done = true;
    var form = document.getElementById("platform-storage-form");
    if (value === state) {
      form.elements.lti_storage_state.value = value;
      form.submit();
    } else {
      document.getElementById("platform-storage-failed").hidden = false;
    }
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || event.data.message_id !== messageId) { return; }
    if (mode === "put" && event.data.subject === "lti.put_data.response") { finishPut(); }
    if (mode === "get" && event.data.subject === "lti.get_data.response") { finishGet(event.data.value); }
  });

  if (mode === "put") {
    target.postMessage({subject: "lti.put_data", message_id: messageId, key: "cop_state_" + state, value: state}, origin);
    // An LMS that does not answer still gets the cookie-based launch.
    window.setTimeout(finishPut, 2000);
  } else {
    target.postMessage({subject: "lti.get_data", message_id: messageId, key: "cop_state_" + state}, origin);
    window.setTimeout(function () { finishGet(null); }, 4000);
  }
}());
