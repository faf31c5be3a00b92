// Face capture page: asks for a live challenge, shows each step, captures
// frames from the camera at the engine's rate and uploads them. The camera
// starts only when the user presses Start. Frames are drawn from the
// unmirrored video (the preview is mirrored by CSS only), so uploads say
// mirrored=false.
(function () {
  "use strict";

  var app = document.getElementById("face-app");
  if (!app) { return; }
  var cfg = {
    purpose: app.dataset.purpose,
    challengeURL: app.dataset.challengeUrl,
    answerURL: app.dataset.answerUrl,
    csrf: app.dataset.csrfToken
  };
  var el = {
    stage: document.getElementById("face-stage"),
    video: document.getElementById("face-video"),
    oval: document.getElementById("face-oval"),
    step: document.getElementById("face-step"),
    progress: document.getElementById("face-progress"),
    steps: document.getElementById("face-steps"),
    message: document.getElementById("face-message"),
    start: document.getElementById("face-start"),
    retry: document.getElementById("face-retry")
  };

  // What to tell the user for each action, in words.
  var ACTION_WORDS = {
    blink: "Blink",
    smile: "Smile",
    turn_left: "Turn your head to your left",
    turn_right: "Turn your head to your right"
  };
  var NEUTRAL_WORDS = "Look straight at the camera";
  // Errors after which trying again cannot help; the user must start over.
  var FINAL_ERRORS = ["face_disabled", "flow_expired", "flow_other_browser", "wrong_step", "not_signed_in", "reauth_required"];

  var stream = null;
  var busy = false;

  // offerFallback shows the fallbacks (recovery code, bypass) of a sign-in
  // when the camera fails, a check fails, or face is throttled or disabled.
  function offerFallback() {
    var fb = document.getElementById("face-fallback");
    if (fb) { fb.hidden = false; }
  }

  function say(text, kind) {
    el.message.textContent = text || "";
    el.message.className = "face-message" + (kind ? " " + kind : "");
  }
  function setOval(state) {
    el.oval.setAttribute("class", "face-guide-oval" + (state ? " " + state : ""));
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // cameraError turns a getUserMedia failure into advice.
  function cameraError(err) {
    switch (err && err.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "Camera access was denied. Allow this site to use the camera (the camera icon in the address bar or your browser's site settings), then press Start again.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "No camera was found. Connect a camera, or use a device that has one, then press Start again.";
      case "NotReadableError":
      case "AbortError":
        return "The camera is in use by another application or could not be started. Close other apps that use it, then press Start again.";
      default:
        return "The camera could not be started" + (err && err.message ? " (" + err.message + ")" : "") + ".";
    }
  }

  async function startCamera(limits) {
    if (stream) { return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw { name: "Unsupported", message: "this browser cannot use a camera here; open the page over https in a current browser" };
    }
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: {
        facingMode: "user",
        width: { ideal: Math.max(640, limits ? limits.frame_width : 640) },
        height: { ideal: Math.max(480, limits ? limits.frame_height : 480) }
      }
    });
    el.video.srcObject = stream;
    el.stage.hidden = false;
    await el.video.play();
    // Wait for real frames before capturing.
    for (var i = 0; i < 50 && (el.video.readyState < 2 || !el.video.videoWidth); i++) { await sleep(100); }
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
    }
    el.video.srcObject = null;
  }

  async function postJSON(url, body) {
    var res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {})
    });
    return readJSON(res);
  }

  async function readJSON(res) {
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      var err = new Error((data && data.error_description) || ("The server answered " + res.status + "."));
      err.code = data && data.error;
      err.status = res.status;
      err.retryAfter = parseInt(res.headers.get("Retry-After") || "0", 10);
      err.data = data;
      throw err;
    }
    return data;
  }

  function showSteps(actions, current) {
    el.steps.textContent = "";
    actions.forEach(function (a, i) {
      var li = document.createElement("li");
      li.textContent = (i + 1) + ". " + (ACTION_WORDS[a] || a);
      if (i < current) { li.className = "done"; } else if (i === current) { li.className = "current"; }
      el.steps.appendChild(li);
    });
    el.steps.hidden = false;
  }

  // showResults marks each step with the server's verdict.
  function showResults(actions, steps) {
    var verdict = {};
    (steps || []).forEach(function (s) { verdict[s.action] = s.passed; });
    Array.prototype.forEach.call(el.steps.children, function (li, i) {
      var v = verdict[actions[i]];
      li.className = v === true ? "done" : (v === false ? "failed" : "");
    });
  }

  // plan splits the frames into a short neutral baseline (about a second:
  // the engine needs a few still frames to measure each action against) and
  // one equal segment of about 2.5 s per action, within the engine's limits.
  // At 5 fps a 2-step challenge is 29 frames, the size the engine's
  // benchmark measures.
  function plan(limits, actions) {
    var fps = limits.fps || 5;
    var baseline = Math.max(3, fps);
    var perAction = Math.floor(fps * 2.5);
    perAction = Math.max(2, Math.min(perAction, Math.floor((limits.max_frames - baseline) / actions.length)));
    var total = baseline + perAction * actions.length;
    if (total < (limits.min_frames || 1)) {
      baseline += (limits.min_frames || 1) - total;
      total = baseline + perAction * actions.length;
    }
    return { fps: fps, baseline: baseline, perAction: perAction, total: total };
  }

  function grab(canvas, ctx) {
    var v = el.video;
    // Draw the camera image as the camera sees it (not the mirrored preview),
    // cropped to the capture aspect ratio.
    var vw = v.videoWidth, vh = v.videoHeight;
    var want = canvas.width / canvas.height;
    var sw = vw, sh = vh, sx = 0, sy = 0;
    if (vw / vh > want) { sw = Math.round(vh * want); sx = Math.round((vw - sw) / 2); }
    else { sh = Math.round(vw / want); sy = Math.round((vh - sh) / 2); }
    ctx.drawImage(v, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (b) { b ? resolve(b) : reject(new Error("could not encode a frame")); }, "image/jpeg", 0.85);
    });
  }

  async function capture(limits, actions) {
    var p = plan(limits, actions);
    var canvas = document.createElement("canvas");
    canvas.width = limits.frame_width || 640;
    canvas.height = limits.frame_height || 480;
    var ctx = canvas.getContext("2d");
    var frames = [];
    var interval = 1000 / p.fps;
    el.progress.max = p.total;
    el.progress.value = 0;
    el.progress.hidden = false;
    setOval("capturing");
    var t0 = performance.now();
    for (var i = 0; i < p.total; i++) {
      // 0 = neutral baseline, then one segment per action
      var seg = i < p.baseline ? 0 : 1 + Math.floor((i - p.baseline) / p.perAction);
      if (seg === 0) {
        el.step.textContent = NEUTRAL_WORDS;
        showSteps(actions, -1);
      } else {
        var k = Math.min(seg - 1, actions.length - 1);
        el.step.textContent = ACTION_WORDS[actions[k]] || actions[k];
        showSteps(actions, k);
      }
      // Steady rate: wait for this frame's slot.
      var due = t0 + i * interval;
      var wait = due - performance.now();
      if (wait > 0) { await sleep(wait); }
      frames.push(await grab(canvas, ctx));
      el.progress.value = i + 1;
      el.progress.textContent = Math.round(100 * (i + 1) / p.total) + "%";
    }
    showSteps(actions, -2); // captured; the server judges the steps
    return frames;
  }

  async function upload(challengeID, frames) {
    var form = new FormData();
    form.append("challenge_id", challengeID);
    form.append("mirrored", "false");
    frames.forEach(function (b, i) {
      form.append("frames", b, "frame_" + String(i).padStart(3, "0") + ".jpg");
    });
    var res = await fetch(cfg.answerURL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": cfg.csrf, "Accept": "application/json" },
      body: form
    });
    return readJSON(res);
  }

  // submit uploads the frames. When the engine is busy the server answers
  // 503 with a fresh challenge (same actions, same expiry): wait as told
  // and send the same frames to it, a few times, so the user need not
  // repeat the actions.
  async function submit(challengeID, frames) {
    for (var tries = 0; ; tries++) {
      try {
        return await upload(challengeID, frames);
      } catch (err) {
        var next = err && err.status === 503 && err.data && err.data.challenge_id;
        if (!next || tries >= 3) { throw err; }
        var wait = Math.max(1, err.retryAfter || 2);
        el.step.textContent = "Checking…";
        say(err.message + " Trying again in " + wait + " seconds; no need to repeat the actions.");
        await sleep(wait * 1000);
        challengeID = next;
      }
    }
  }

  async function run() {
    if (busy) { return; }
    busy = true;
    el.start.disabled = true;
    el.retry.hidden = true;
    setOval("");
    say("");
    try {
      el.step.textContent = "Starting the camera…";
      // The camera first: a denied permission should not burn a challenge.
      await startCamera(null);
      el.step.textContent = "Getting ready…";
      var ch = await postJSON(cfg.challengeURL, {});
      say("Keep your face inside the oval and follow the instructions.");
      var frames = await capture(ch.limits, ch.actions);
      el.step.textContent = "Checking…";
      var res = await submit(ch.challenge_id, frames);
      if (res.result === "pass") {
        setOval("passed");
        el.step.textContent = cfg.purpose === "enrol" ? "Face enrolled" : "Face verified";
        say(res.message || "Done.", "ok");
        stopCamera();
        if (res.next) { window.location.assign(res.next); }
        return;
      }
      setOval("failed");
      offerFallback();
      showResults(ch.actions, res.steps);
      el.step.textContent = "Not accepted";
      say((res.message || "That did not work.") + " Press Try again.", "error");
      el.retry.hidden = false;
    } catch (err) {
      setOval("failed");
      el.step.textContent = "";
      offerFallback();
      if (err && err.status) {
        var msg = err.message;
        if (err.status === 503 && err.retryAfter) { msg += " Try again in " + err.retryAfter + " seconds."; }
        say(msg, "error");
        if (FINAL_ERRORS.indexOf(err.code) >= 0) {
          stopCamera();
          el.stage.hidden = true;
        } else {
          el.retry.hidden = false;
        }
      } else {
        stopCamera();
        el.stage.hidden = true;
        say(cameraError(err), "error");
        el.start.hidden = false;
        el.start.disabled = false;
      }
    } finally {
      busy = false;
    }
  }

  el.start.addEventListener("click", function () { el.start.hidden = true; run(); });
  el.retry.addEventListener("click", run);
  window.addEventListener("pagehide", stopCamera);
})();
