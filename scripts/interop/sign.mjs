// Signs or verifies a Standard Webhooks delivery with the npm
// "standardwebhooks" package, an implementation independent of replayhook's.
// providers/standard/interop_test.go runs it; install it first with
//   npm ci --prefix scripts/interop
//
//   node sign.mjs SECRET MSG_ID TIMESTAMP BODY_FILE
//       prints the webhook-signature header ("v1,<base64>")
//   node sign.mjs --verify SECRET MSG_ID TIMESTAMP SIGNATURE BODY_FILE
//       prints "ok" and exits 0 when the package accepts the delivery, else
//       prints its error and exits 1 (the package checks TIMESTAMP against
//       the clock, with its fixed 5-minute tolerance)
//   node sign.mjs --batch
//       reads one JSON request a line from stdin, {"op": "sign" | "verify",
//       "secret", "id", "timestamp", "signature" (verify), "body"}, and
//       answers each with one JSON line, {"ok": bool, "out": string}: the
//       signature, "ok", or the package's error. One process for every
//       vector (starting node costs far more than signing).
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

function usage() {
  console.error("usage: node sign.mjs SECRET MSG_ID TIMESTAMP BODY_FILE");
  console.error("       node sign.mjs --verify SECRET MSG_ID TIMESTAMP SIGNATURE BODY_FILE");
  process.exit(2);
}

function answer(req) {
  try {
    if (req.op === "sign") {
      return { ok: true, out: new Webhook(req.secret).sign(req.id, new Date(Number(req.timestamp) * 1000), req.body) };
    }
    new Webhook(req.secret).verify(req.body, {
      "webhook-id": req.id,
      "webhook-timestamp": req.timestamp,
      "webhook-signature": req.signature,
    });
    return { ok: true, out: "ok" };
  } catch (err) {
    return { ok: false, out: String(err && err.message ? err.message : err) };
  }
}

const args = process.argv.slice(2);
if (args[0] === "--batch") {
  const lines = readFileSync(0, "utf8").split("\n").filter((l) => l.trim() !== "");
  for (const line of lines) console.log(JSON.stringify(answer(JSON.parse(line))));
} else if (args[0] === "--verify") {
  if (args.length !== 6) usage();
  const [, secret, msgId, timestamp, signature, bodyFile] = args;
  const body = readFileSync(bodyFile, "utf8");
  try {
    new Webhook(secret).verify(body, {
      "webhook-id": msgId,
      "webhook-timestamp": timestamp,
      "webhook-signature": signature,
    });
    console.log("ok");
  } catch (err) {
    console.log(String(err && err.message ? err.message : err));
    process.exit(1);
  }
} else {
  if (args.length !== 4) usage();
  const [secret, msgId, timestamp, bodyFile] = args;
  if (!/^[0-9]+$/.test(timestamp)) usage();
  const body = readFileSync(bodyFile, "utf8");
  const date = new Date(Number(timestamp) * 1000);
  console.log(new Webhook(secret).sign(msgId, date, body));
}
