// The gate page's script: reads a pass's QR code with the vendored jsQR, from the
// rear camera or from a picture, and posts it as the page's scan form would (with a
// fresh nonce per read, so a retry is the same scan); every form of the answer area
// is posted in place and the answer put where it was, the camera running on.
// Without this script the page works as plain forms.
(function () {
  "use strict";
  var panel = document.getElementById("scan");
  var camera = document.getElementById("camera");
  if (!panel || !camera || typeof window.jsQR !== "function") return;
  var video = document.getElementById("cam");
  var startButton = document.getElementById("cam-start");
  var shot = document.getElementById("shot");
  var msg = document.getElementById("cam-msg");
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null, busy = false, last = "", lastAt = 0;
  // A code read again within this long is the same truck still in front of the camera.
  var SAME_CODE_MS = 5000;
  // Frames are decoded at most this wide: enough for a pass held up, cheap on old phones.
  var FRAME_WIDTH = 640;

  camera.hidden = false;

  function say(text) { msg.textContent = text; }

  function nonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // The gate and the way chosen above the panel.
  function choice(data) {
    var chosen = document.querySelectorAll("[data-choice]");
    for (var i = 0; i < chosen.length; i++) {
      var el = chosen[i];
      if (el.type === "radio" && !el.checked) continue;
      data.set(el.name, el.value);
    }
  }

  function vibrate(pattern) { if (navigator.vibrate) navigator.vibrate(pattern); }

  // Posts `form` and puts the answer in place of the panel.
  function send(form) {
    if (busy) return;
    busy = true;
    var data = new URLSearchParams(new FormData(form));
    if (form.hasAttribute("data-scan")) choice(data);
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    }).then(function (response) {
      return response.text().then(function (html) { return [response.url, html]; });
    }).then(function (answered) {
      var fresh = new DOMParser().parseFromString(answered[1], "text/html").getElementById("scan");
      if (!fresh && answered[0].indexOf("/console/login") >= 0) {
        // The session ended: the sign-in, whole.
        window.location.assign(answered[0]);
        return;
      }
      if (!fresh) throw new Error("no answer");
      panel.replaceWith(fresh);
      panel = fresh;
      var answer = panel.querySelector("[data-result]");
      if (answer) vibrate(answer.getAttribute("data-result") === "accepted" ? 120 : [120, 80, 120]);
    }).catch(function () {
      var area = document.getElementById("answer");
      area.innerHTML = "";
      var box = document.createElement("div");
      box.className = "answer wait";
      box.setAttribute("role", "alert");
      box.textContent = "未能核验（网络或服务异常），请重试";
      area.appendChild(box);
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = false;
    }).then(function () { busy = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!panel.contains(form)) return;
    event.preventDefault();
    send(form);
  });

  // A code read from the camera or a picture: the scan form with it and a new nonce.
  function read(text, again) {
    var now = Date.now();
    if (busy || (!again && text === last && now - lastAt < SAME_CODE_MS)) return;
    last = text;
    lastAt = now;
    var form = panel.querySelector("form[data-scan]");
    form.elements.code.value = text;
    form.elements.nonce.value = nonce();
    send(form);
  }

  function decode(width, height) {
    var image = ctx.getImageData(0, 0, width, height);
    var found = window.jsQR(image.data, width, height);
    return found && found.data ? found.data : null;
  }

  function frame() {
    if (!stream) return;
    if (!busy && video.readyState >= 2 && video.videoWidth) {
      var scale = Math.min(1, FRAME_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var text = decode(canvas.width, canvas.height);
      if (text) read(text, false);
    }
    setTimeout(frame, 200);
  }

  function stop() {
    if (!stream) return;
    stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
    say("");
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("此浏览器无法使用摄像头（需 HTTPS）。请用“拍照识别”或手动输入。");
      return;
    }
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      startButton.textContent = "关闭摄像头";
      say("请将通行证二维码对准摄像头");
      try { localStorage.setItem("tp_gate_camera", "on"); } catch (e) { /* private mode */ }
      video.play();
      frame();
    }).catch(function (error) {
      say("无法打开摄像头（" + error.name + "）。请用“拍照识别”或手动输入。");
    });
  }

  startButton.addEventListener("click", function () {
    if (stream) {
      stop();
      startButton.textContent = "打开摄像头扫码";
      try { localStorage.removeItem("tp_gate_camera"); } catch (e) { /* private mode */ }
    } else {
      start();
    }
  });

  // A picture of the pass, from the camera app or the gallery.
  function drawn(source, width, height) {
    var scale = Math.min(1, 1280 / Math.max(width, height));
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    var text = decode(canvas.width, canvas.height);
    if (text) {
      say("已识别二维码");
      read(text, true);
    } else {
      say("未识别到二维码，请重拍，或手动输入车牌号或通行码。");
    }
  }

  shot.addEventListener("change", function () {
    var file = shot.files && shot.files[0];
    shot.value = "";
    if (!file) return;
    say("识别中…");
    if (window.createImageBitmap) {
      createImageBitmap(file).then(function (bitmap) {
        drawn(bitmap, bitmap.width, bitmap.height);
      }, function () { say("无法读取这张图片，请重拍。"); });
      return;
    }
    // Older browsers: a data: address (the page's policy allows no blob: images).
    var reader = new FileReader();
    reader.onload = function () {
      var img = new Image();
      img.onload = function () { drawn(img, img.naturalWidth, img.naturalHeight); };
      img.onerror = function () { say("无法读取这张图片，请重拍。"); };
      img.src = reader.result;
    };
    reader.readAsDataURL(file);
  });

  // The camera stops while the page is hidden and comes back with it.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) stop();
    else if (wanted()) start();
  });

  function wanted() {
    try { return localStorage.getItem("tp_gate_camera") === "on"; } catch (e) { return false; }
  }

  if (wanted()) start();
})();
