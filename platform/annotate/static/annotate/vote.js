// The annotator's voting page: consent once, then one pair at a time, the next pair preloaded.
// Vanilla JS, no build step. Prompt text only ever goes through textContent.
// Refusals are told apart by the API's `code` (docs/formats.md, "Refusals"), not by HTTP status:
// one status means several things (409: already voted, too many open tasks, quota used up, work remaining).
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("vote-config").textContent);
  const $ = (id) => document.getElementById(id);
  const PANELS = ["consent", "task", "done", "message"];
  const KEYS = { "1": "left", ArrowLeft: "left", "2": "right", ArrowRight: "right", "3": "tie", ArrowDown: "tie" };
  const storageKey = `qsched-token:${config.slug}:${config.crowd.external_id || "anonymous"}`;

  let token = null;
  let current = null; // {data, images: {left, right}} on screen
  let pending = null; // Promise of the preloaded next task: a task, null (none left) or undefined (failed)
  let shownAt = 0; // performance.now() when both images were decoded and painted
  let busy = true;
  let votesGiven = 0; // votes sent from this page: a preloaded task's own count is older

  class ApiError extends Error {
    constructor(status, data) {
      super((data && data.detail) || `The server answered ${status}.`);
      this.status = status;
      this.data = data || {};
      this.code = codeOf(data); // "" when the answer was not one of the API's JSON refusals
    }
  }

  function codeOf(data) {
    return (data && typeof data.code === "string") ? data.code : "";
  }

  function setPanel(name) {
    for (const id of PANELS) $(id).hidden = id !== name;
    document.body.dataset.state = name;
  }

  function showMessage(text, retry) {
    busy = true;
    $("message-text").textContent = text;
    const button = $("retry");
    button.hidden = !retry;
    button.onclick = retry ? () => { busy = false; setPanel("task"); retry(); } : null;
    setPanel("message");
    if (retry) button.focus();
  }

  function loadStoredToken() {
    try { return sessionStorage.getItem(storageKey); } catch { return null; }
  }

  function storeToken(value) {
    try { sessionStorage.setItem(storageKey, value); } catch { /* private mode: no resume */ }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const BUSY_RETRIES = 6; // 503 "busy, retry": at most this many resends of one request
  const BUSY_WAIT_MAX_S = 10;

  // Seconds to wait before resending after a 503, from its Retry-After header (1 to BUSY_WAIT_MAX_S).
  function retryAfterSeconds(response) {
    const seconds = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    return Math.min(Math.max(Number.isFinite(seconds) ? seconds : 1, 1), BUSY_WAIT_MAX_S);
  }

  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    // The exact same body is resent on every attempt: every call here is safe to repeat (a vote
    // sent twice is recorded once). Network failures are retried with back-off; a 503 (the server
    // is busy for a moment) after its Retry-After, up to BUSY_RETRIES times.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let busyRetries = 0;
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(url, { method, headers, credentials: "omit", cache: "no-store", body: payload });
      } catch (error) {
        if (attempt >= 3) throw error;
        await sleep(400 * 2 ** attempt);
        continue;
      }
      if (response.status === 503 && busyRetries < BUSY_RETRIES) {
        busyRetries += 1;
        await sleep(1000 * retryAfterSeconds(response));
        continue;
      }
      let data = null;
      if (response.status !== 204) {
        try { data = await response.json(); } catch { data = null; }
      }
      return { status: response.status, data };
    }
  }

  function updateProgress(done, total) {
    const bar = $("progress");
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done, bar.max);
    $("progress-text").textContent = `${done} / ${total}`;
    bar.parentElement.hidden = false;
  }

  // Fetch a task and decode both images, so that showing it is instant.
  async function loadTask(excludeId) {
    const url = config.urls.next + (excludeId ? `?exclude=${encodeURIComponent(excludeId)}` : "");
    const { status, data } = await api("GET", url);
    if (status === 204) return null;
    if (status !== 200) throw new ApiError(status, data);
    const images = {};
    await Promise.all(["left", "right"].map(async (side) => {
      images[side] = await loadImage(data[side].url, side === "left" ? "Left image" : "Right image");
    }));
    return { data, images };
  }

  // Images need the session's Authorization header too (their links alone open nothing),
  // so they are fetched here and shown from blob: URLs.
  async function loadImage(url, alt) {
    let response = null;
    for (let attempt = 0; ; attempt++) {
      try {
        response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, credentials: "omit" });
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 400 * 2 ** attempt));
      }
    }
    if (!response.ok) throw new ApiError(response.status, null);
    const img = new Image();
    img.alt = alt;
    img.dataset.link = url; // which task is on screen, for tests and debugging
    img.src = URL.createObjectURL(await response.blob());
    await img.decode();
    return img;
  }

  function release(task) {
    if (!task) return;
    for (const img of Object.values(task.images)) URL.revokeObjectURL(img.src);
  }

  function show(task) {
    release(current);
    current = task;
    busy = true;
    document.body.dataset.ready = "false";
    $("question").textContent = task.data.question || "Which image is better?";
    $("prompt").textContent = task.data.prompt;
    $("left-frame").replaceChildren(task.images.left);
    $("right-frame").replaceChildren(task.images.right);
    for (const button of document.querySelectorAll(".choice")) button.classList.remove("chosen");
    votesGiven = Math.max(votesGiven, task.data.done);
    updateProgress(votesGiven, Math.max(task.data.total, votesGiven + 1));
    setPanel("task");
    // Both images are decoded; the second frame callback runs once they have been painted.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      shownAt = performance.now();
      busy = false;
      document.body.dataset.ready = "true";
    }));
    // Preloading holds a slot for the next task too (it expires like any other if never shown).
    pending = loadTask(task.data.assignment).catch(() => undefined);
  }

  async function showNext() {
    let next = pending ? await pending : undefined;
    pending = null;
    if (next === undefined || next === null) next = await loadTask(); // retry, or check once more
    if (next === null) return finish();
    show(next);
  }

  async function vote(choice) {
    if (busy || !current || (choice === "tie" && !config.allowTies)) return;
    busy = true;
    document.body.dataset.ready = "false";
    // A retry of this vote (the "Try again" button) sends the body of the first attempt again.
    if (!current.vote || current.vote.choice !== choice) {
      current.vote = { choice, response_ms: Math.max(0, Math.round(performance.now() - shownAt)) };
    }
    const button = document.querySelector(`.choice[data-choice="${choice}"]`);
    if (button) button.classList.add("chosen");
    const url = config.urls.vote.replace("ASSIGNMENT", encodeURIComponent(current.data.assignment));
    try {
      const { status, data } = await api("POST", url, current.vote);
      if (status === 200 || status === 201) {
        votesGiven += 1;
      } else if (!["expired", "already_voted"].includes(codeOf(data))) {
        throw new ApiError(status, data);
      }
      // expired: the task's time limit passed (its slot goes back to the pool); already_voted: this
      // annotator's other tab answered the pair first (that vote stands). Either way, simply move on.
      await showNext();
    } catch (error) {
      handleError(error, () => vote(choice));
    }
  }

  async function finish(again = true) {
    release(current);
    current = null;
    const { status, data } = await api("GET", config.urls.finish);
    if (codeOf(data) === "work_remaining" && again) { // work came back (an expired slot): keep going
      const next = await loadTask();
      return next === null ? finish(false) : show(next);
    }
    if (status !== 200) throw new ApiError(status, data);
    setPanel("done");
    updateProgress(data.done, data.done);
    if (data.outcome === "screened_out") {
      $("done-text").textContent = "There are no tasks for you in this study. Thank you for your time.";
    }
    if (data.completion_code) {
      $("code").textContent = data.completion_code;
      $("code-line").hidden = false;
    }
    if (data.redirect_url && /^https?:\/\//i.test(data.redirect_url)) {
      const link = $("redirect");
      link.href = data.redirect_url;
      $("redirect-line").hidden = false;
      link.focus();
      setTimeout(() => window.location.assign(data.redirect_url), 3000);
    }
  }

  function handleError(error, retry) {
    switch (error.code) {
      case "not_authenticated":
        token = null;
        try { sessionStorage.removeItem(storageKey); } catch { /* ignore */ }
        return showMessage("Your session has ended. Reload the page to start again.");
      case "study_not_live":
        if (error.data.screen_out_code) {
          return showMessage(`This study has closed. Your code: ${error.data.screen_out_code}`);
        }
        return showMessage("This study is not taking answers at the moment. Thank you!");
      case "quota_exhausted":
        return showMessage("You have already answered all the tasks this study allows. Thank you!");
      case "crowd_id_required": // the server's words say which link to use
      case "too_many_open_tasks": // tasks are open in another tab
      case "work_remaining":
        return showMessage(error.message);
      default: // anything else (busy beyond the retries, a network failure, a bug): offer to try again
        return showMessage(`Something went wrong: ${error.message}`, retry);
    }
  }

  async function begin() {
    try {
      const first = await loadTask();
      if (first === null) return await finish();
      show(first);
    } catch (error) {
      handleError(error, begin);
    }
  }

  async function join() {
    const button = $("start");
    button.disabled = true;
    try {
      const { status, data } = await api("POST", config.urls.sessions, config.crowd);
      if (status !== 201) throw new ApiError(status, data);
      token = data.token;
      storeToken(token);
      await begin();
    } catch (error) {
      handleError(error, join);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    if (document.body.dataset.state !== "task") return;
    const choice = KEYS[event.key];
    if (!choice) return;
    event.preventDefault();
    vote(choice);
  });
  for (const button of document.querySelectorAll(".choice")) {
    button.addEventListener("click", () => vote(button.dataset.choice));
  }
  $("start").addEventListener("click", join);

  if (!config.live) {
    showMessage("This study is not open at the moment.");
  } else if ((token = loadStoredToken())) {
    begin(); // a reload: consent was already given in this tab
  } else {
    setPanel("consent");
    $("start").focus();
  }
})();
