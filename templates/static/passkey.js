// Passkeys (WebAuthn) on the sign-in page and the account page.
//
// Sign-in (#passkey-login): "Sign in with a passkey" runs a modal ceremony:
// usernameless (discoverable credentials) when the username field is
// empty, username-first when it holds a name. Where the browser supports
// conditional mediation, a ceremony is also started on load so that
// passkeys appear in the username field's autofill
// (autocomplete="username webauthn"); the button aborts it first.
//
// Account page: #passkey-reauth confirms it is you with an existing passkey;
// #passkey-register adds one.
//
// The server's options are go-webauthn's JSON ({"publicKey": {...},
// "mediation": ...}) with binary fields in base64url; they are converted
// here rather than with PublicKeyCredential.parse*OptionsFromJSON so that
// browsers without those methods work too. Every POST carries the CSRF
// token in X-CSRF-Token.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) {
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("#passkey-signin, #passkey-reauth, #passkey-register button").forEach(function (el) { el.disabled = true; });
    return;
  }

  function b64uToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  // clean drops null members, which the WebAuthn dictionaries refuse.
  function clean(o) {
    if (Array.isArray(o)) { return o.map(clean); }
    if (o && typeof o === "object") {
      var out = {};
      Object.keys(o).forEach(function (k) { if (o[k] !== null && o[k] !== undefined) { out[k] = clean(o[k]); } });
      return out;
    }
    return o;
  }
  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type || "public-key", id: b64uToBuf(d.id) };
      if (d.transports) { out.transports = d.transports; }
      return out;
    });
  }
  function requestOptions(pk) {
    pk = clean(pk);
    pk.challenge = b64uToBuf(pk.challenge);
    if (pk.allowCredentials) { pk.allowCredentials = descriptors(pk.allowCredentials); }
    return pk;
  }
  function creationOptions(pk) {
    pk = clean(pk);
    pk.challenge = b64uToBuf(pk.challenge);
    pk.user.id = b64uToBuf(pk.user.id);
    if (pk.excludeCredentials) { pk.excludeCredentials = descriptors(pk.excludeCredentials); }
    return pk;
  }
  function credentialJSON(c) {
    var r = c.response;
    var out = {
      id: c.id, rawId: bufToB64u(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64u(r.clientDataJSON) }
    };
    if (c.authenticatorAttachment) { out.authenticatorAttachment = c.authenticatorAttachment; }
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64u(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = bufToB64u(r.authenticatorData);
      out.response.signature = bufToB64u(r.signature);
      if (r.userHandle) { out.response.userHandle = bufToB64u(r.userHandle); }
    }
    return out;
  }

  async function postJSON(url, csrf, body) {
    var res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    });
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      var err = new Error((data && data.error_description) || ("The server answered " + res.status + "."));
      err.code = data && data.error;
      err.status = res.status;
      err.next = data && data.next;
      throw err;
    }
    return data;
  }

  // explain turns a failed ceremony into what the user should do.
  function explain(err) {
    if (err && err.status) { return err.message; }
    switch (err && err.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out, or no passkey for this site was chosen. Try again.";
      case "InvalidStateError":
        return "This authenticator already holds a passkey for your account.";
      case "SecurityError":
        return "Passkeys cannot be used on this address (they need https or localhost and a domain name).";
      case "AbortError":
        return "";
    }
    return "The passkey could not be used" + (err && err.message ? " (" + err.message + ")" : "") + ".";
  }

  // --- sign-in ---------------------------------------------------------------

  var login = document.getElementById("passkey-login");
  if (login) {
    var cfg = { begin: login.dataset.beginUrl, finish: login.dataset.finishUrl, csrf: login.dataset.csrfToken };
    var button = document.getElementById("passkey-signin");
    var errorBox = document.getElementById("passkey-error");
    var username = document.getElementById("username");
    var conditional = null; // AbortController of the autofill ceremony
    var busy = false;

    var showError = function (msg) {
      errorBox.textContent = msg || "";
      errorBox.hidden = !msg;
    };

    var signIn = async function (body, signal) {
      var begun;
      try {
        begun = await postJSON(cfg.begin, cfg.csrf, body);
      } catch (err) {
        err.atBegin = true;
        throw err;
      }
      var req = { publicKey: requestOptions(begun.options.publicKey) };
      if (begun.options.mediation) { req.mediation = begun.options.mediation; }
      if (signal) { req.signal = signal; }
      var cred = await navigator.credentials.get(req);
      var done = await postJSON(cfg.finish, cfg.csrf, { ceremony_id: begun.ceremony_id, credential: credentialJSON(cred) });
      window.location.assign(done.next);
    };

    var startConditional = async function () {
      if (!PublicKeyCredential.isConditionalMediationAvailable) { return; }
      try {
        if (!(await PublicKeyCredential.isConditionalMediationAvailable())) { return; }
      } catch (e) { return; }
      var ctl = new AbortController();
      conditional = ctl;
      try {
        await signIn({ conditional: true }, ctl.signal);
      } catch (err) {
        // The autofill is an offer: if it cannot start (e.g. rate limited),
        // say nothing; the button still works.
        if (ctl.signal.aborted || (err && err.atBegin)) { return; }
        if (err && err.next) { window.location.assign(err.next); return; }
        showError(explain(err));
      } finally {
        if (conditional === ctl) { conditional = null; }
      }
    };

    button.addEventListener("click", async function () {
      if (busy) { return; }
      busy = true;
      button.disabled = true;
      showError("");
      if (conditional) { conditional.abort(); conditional = null; }
      var name = username ? username.value.trim() : "";
      try {
        await signIn({ username: name, conditional: false });
      } catch (err) {
        if (err && err.next) { window.location.assign(err.next); return; }
        showError(explain(err));
        button.disabled = false;
      } finally {
        busy = false;
      }
    });
    startConditional();
  }

  // --- account page ----------------------------------------------------------

  var reauth = document.getElementById("passkey-reauth");
  if (reauth) {
    var reauthError = document.getElementById("passkey-reauth-error");
    reauth.addEventListener("click", async function () {
      reauth.disabled = true;
      reauthError.hidden = true;
      try {
        var begun = await postJSON(reauth.dataset.beginUrl, reauth.dataset.csrfToken, {});
        var cred = await navigator.credentials.get({ publicKey: requestOptions(begun.options.publicKey) });
        var done = await postJSON(reauth.dataset.finishUrl, reauth.dataset.csrfToken, { ceremony_id: begun.ceremony_id, credential: credentialJSON(cred) });
        window.location.assign(done.next);
      } catch (err) {
        reauthError.textContent = explain(err);
        reauthError.hidden = false;
        reauth.disabled = false;
      }
    });
  }

  var register = document.getElementById("passkey-register");
  if (register) {
    var registerError = document.getElementById("passkey-register-error");
    register.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var submit = register.querySelector("button");
      submit.disabled = true;
      registerError.hidden = true;
      try {
        var csrf = register.dataset.csrfToken;
        var begun = await postJSON(register.dataset.beginUrl, csrf, {});
        var cred = await navigator.credentials.create({ publicKey: creationOptions(begun.options.publicKey) });
        var name = register.querySelector("input[name=name]").value;
        var done = await postJSON(register.dataset.finishUrl, csrf, { ceremony_id: begun.ceremony_id, name: name, credential: credentialJSON(cred) });
        window.location.assign(done.next);
      } catch (err) {
        registerError.textContent = explain(err);
        registerError.hidden = false;
        submit.disabled = false;
      }
    });
  }
})();
