// Reads GET /stream/{product_id} with the npm "eventsource" package (the
// client the Autoplay SDK's JavaScript example uses), as a browser would:
// it reconnects by itself with Last-Event-ID and stops on a non-200 answer.
// main's stream test runs it; install it first with
//   npm ci --prefix scripts/interop
//
//   node stream.mjs URL TOKEN COUNT
//
// Prints one JSON line per thing that happens: {"open":true} on every
// (re)connection, {"id":...,"data":...} per event, {"reset":DATA} per reset
// event, {"reconnecting":true} when the connection drops, and
// {"error":STATUS} when the client gives up (then exits 3). Exits 0 after
// COUNT events.
import { EventSource } from "eventsource";

const [url, token, count] = process.argv.slice(2);
if (!url || !token || !/^[0-9]+$/.test(count || "")) {
  console.error("usage: node stream.mjs URL TOKEN COUNT");
  process.exit(2);
}
const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");

// eventsource v3+ is fetch-based: headers go through a custom fetch.
const es = new EventSource(url, {
  fetch: (input, init) =>
    fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }),
});
let got = 0;
es.onopen = () => out({ open: true });
es.onmessage = (e) => {
  out({ id: e.lastEventId, data: e.data });
  if (++got >= Number(count)) {
    es.close();
    process.exit(0);
  }
};
es.addEventListener("reset", (e) => out({ reset: e.data }));
es.onerror = (e) => {
  if (es.readyState === EventSource.CLOSED) {
    out({ error: e.code ?? null });
    process.exit(3);
  }
  out({ reconnecting: true });
};
