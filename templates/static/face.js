// Face capture page. After the user presses Start it turns on the camera,
// then gets the person ready (single frames checked by the server until
// one face is well in view), asks for a live challenge and streams frames
// over a WebSocket while the person acts: the server analyses each frame
// as it arrives and says when the current step has been seen, so the page
// moves on at once (each step has a timeout, shown as a countdown). The
// verdict is the server's, from all the frames. Frames are drawn from the
// unmirrored video (the preview is mirrored by CSS only): mirrored=false.
(function () {
  "use strict";

  var app = document.getElementById("face-app");
  if (!app) { return; }
  var cfg = {
    purpose: app.dataset.purpose,
    challengeURL: app.dataset.challengeUrl,
    answerURL: app.dataset.answerUrl,
    readyURL: app.dataset.readyUrl,
    streamURL: app.dataset.streamUrl,
    csrf: app.dataset.csrfToken
  };
  var el = {
    stage: document.getElementById("face-stage"),
    video: document.getElementById("face-video"),
    oval: document.getElementById("face-oval"),
    step: document.getElementById("face-step"),
    countdown: document.getElementById("face-countdown"),
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
  // The frame size sent to the server (the engine's capture size; the
  // challenge's limits confirm it).
  var CAPTURE_WIDTH = 640, CAPTURE_HEIGHT = 480;
  // Get ready: one frame every READY_INTERVAL_MS until READY_IN_A_ROW
  // frames in a row are good.
  var READY_INTERVAL_MS = 400, READY_IN_A_ROW = 2;
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

  // clearProgress removes the step chips, the progress bar and the
  // countdown (after a final error they would describe nothing).
  function clearProgress() {
    el.steps.textContent = "";
    el.steps.hidden = true;
    el.progress.hidden = true;
    el.progress.value = 0;
    el.countdown.hidden = true;
    el.countdown.textContent = "";
  }

  function newCanvas(w, h) {
    var canvas = document.createElement("canvas");
    canvas.width = w || CAPTURE_WIDTH;
    canvas.height = h || CAPTURE_HEIGHT;
    return canvas;
  }

  function grab(canvas) {
    var v = el.video;
    var ctx = canvas.getContext("2d");
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

  // getReady sends single frames to the server until READY_IN_A_ROW in a
  // row show one face, large, lit, frontal and in the oval, saying what to
  // fix meanwhile. Throttled or disabled face ends it with that error.
  async function getReady() {
    var canvas = newCanvas();
    var good = 0;
    el.step.textContent = "Getting ready…";
    say("Keep your face inside the oval.");
    for (;;) {
      var t0 = performance.now();
      var blob = await grab(canvas);
      var res = await fetch(cfg.readyURL, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": cfg.csrf, "Accept": "application/json" },
        body: blob
      });
      var r;
      try {
        r = await readJSON(res);
      } catch (err) {
        if (err.status === 503 || err.status === 429) {
          // Busy or too fast: wait as told and keep going.
          await sleep(Math.max(1, err.retryAfter || 1) * 1000);
          continue;
        }
        throw err;
      }
      if (r.ready) {
        good++;
        setOval("");
        el.step.textContent = r.hint || "Good. Hold still…";
        if (good >= READY_IN_A_ROW) { return; }
      } else {
        good = 0;
        setOval("adjust");
        el.step.textContent = r.hint || "Keep your face inside the oval.";
      }
      var wait = READY_INTERVAL_MS - (performance.now() - t0);
      if (wait > 0) { await sleep(wait); }
    }
  }

  function streamError(msg) {
    var err = new Error(msg.error_description || "The face check stopped.");
    err.code = msg.error;
    err.status = msg.status || 400;
    err.retryAfter = msg.retry_after || 0;
    err.data = msg;
    return err;
  }

  // streamChallenge runs one challenge over the WebSocket: it sends a
  // frame every 1/fps seconds, shows the step the server is waiting for
  // with its countdown, moves on as soon as the server has seen it, and
  // ends the stream after the last step (or when a step's time is up).
  // It resolves with the server's result.
  function streamChallenge(ch) {
    var actions = ch.actions;
    var wsURL = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + cfg.streamURL;
    return new Promise(function (resolve, reject) {
      var ws = new WebSocket(wsURL);
      ws.binaryType = "arraybuffer";
      var settled = false, sending = false, seen = 0;
      function settle(fn, v) {
        if (settled) { return; }
        settled = true;
        sending = false;
        fn(v);
      }
      ws.onopen = function () {
        ws.send(JSON.stringify({ type: "start", challenge_id: ch.challenge_id, mirrored: false }));
      };
      ws.onmessage = function (ev) {
        var msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        switch (msg.type) {
          case "started": sending = true; sendFrames(msg); break;
          case "progress": seen = Math.max(seen, msg.steps_seen || 0); break;
          case "result": settle(resolve, msg); ws.close(); break;
          case "error": settle(reject, streamError(msg)); break;
        }
      };
      ws.onerror = function () {};
      ws.onclose = function () {
        settle(reject, streamError({ error: "stream_closed", status: 502, error_description: "The connection to the server was lost. Check your connection and press Try again." }));
      };

      async function sendFrames(st) {
        var fps = st.fps || 5;
        var interval = 1000 / fps;
        var baseline = Math.max(3, fps); // about a second of neutral face
        var stepTimeout = st.step_timeout_ms || 6000;
        var canvas = newCanvas(st.frame_width, st.frame_height);
        el.progress.max = actions.length;
        el.progress.value = 0;
        el.progress.hidden = false;
        setOval("capturing");
        say("Keep your face inside the oval and follow the instructions.");
        var t0 = performance.now();
        var step = -1, stepStart = 0;
        for (var seq = 0; sending; seq++) {
          var now = performance.now();
          if (seq < baseline) {
            el.step.textContent = NEUTRAL_WORDS;
            showSteps(actions, -1);
          } else if (seen >= actions.length) {
            // All seen: end, once the engine's fewest frames are sent.
            if (seq >= (st.min_frames || 0)) { break; }
            el.step.textContent = NEUTRAL_WORDS;
          } else {
            if (seen !== step) {
              step = seen;
              stepStart = now;
              el.step.textContent = ACTION_WORDS[actions[step]] || actions[step];
              showSteps(actions, step);
            }
            var left = stepTimeout - (now - stepStart);
            if (left <= 0) { break; } // the server judges what it saw
            el.countdown.hidden = false;
            el.countdown.textContent = Math.ceil(left / 1000) + " s left for this step";
            el.progress.value = step + Math.min(1, (now - stepStart) / stepTimeout) * 0.9;
          }
          if (seq >= (st.max_frames || 40)) { break; }
          var blob = await grab(canvas);
          if (!sending) { return; }
          var img = new Uint8Array(await blob.arrayBuffer());
          var buf = new Uint8Array(4 + img.length);
          new DataView(buf.buffer).setUint32(0, seq);
          buf.set(img, 4);
          ws.send(buf);
          var wait = t0 + (seq + 1) * interval - performance.now();
          if (wait > 0) { await sleep(wait); }
        }
        if (!sending) { return; }
        sending = false;
        el.countdown.hidden = true;
        el.step.textContent = "Checking…";
        el.progress.value = Math.min(seen, actions.length);
        showSteps(actions, -2);
        ws.send(JSON.stringify({ type: "finish" }));
      }
    });
  }

  // submit streams the challenge. When the engine is busy the server
  // answers engine_busy with a fresh challenge (same actions, same
  // expiry): wait as told and stream to that one, a few times.
  async function submit(ch) {
    for (var tries = 0; ; tries++) {
      try {
        return await streamChallenge(ch);
      } catch (err) {
        var next = err && err.code === "engine_busy" && err.data && err.data.challenge_id;
        if (!next || tries >= 3) { throw err; }
        var wait = Math.max(1, err.retryAfter || 2);
        el.step.textContent = "Please wait…";
        say(err.message + " Starting again in " + wait + " seconds.");
        await sleep(wait * 1000);
        ch = { challenge_id: next, actions: err.data.actions || ch.actions };
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
      clearProgress();
      await getReady();
      var ch = await postJSON(cfg.challengeURL, {});
      var res = await submit(ch);
      el.countdown.hidden = true;
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
      el.progress.hidden = true;
      showResults(ch.actions, res.steps);
      el.step.textContent = "Not accepted";
      say((res.message || "That did not work.") + " Press Try again.", "error");
      el.retry.hidden = false;
    } catch (err) {
      setOval("failed");
      el.step.textContent = "";
      clearProgress();
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
  el.start.disabled = false; // the page renders it disabled until now
})();
