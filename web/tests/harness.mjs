// What the browser tests share: their command line, waiting for a condition, and a check that
// fails a step with what was wrong.
export const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `f()` once it is truthy (asked every 200 ms), or an error naming `what` after `ms`.
export async function until(what, f, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export const expect = (cond, what) => {
  if (!cond) throw new Error(what);
};
