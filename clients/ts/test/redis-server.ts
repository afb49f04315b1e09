// Starts a private redis-server for a test on a free loopback port, the way internal/testenv does
// for the Go tests: never the machine's own Redis. Readiness is the server's own "Ready to accept
// connections" line, not a sleep.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServer {
  port: number;
  stop(): Promise<void>;
}

const MISSING =
  "redis-server not found on PATH: the live ledger tests start their own server. Install it " +
  "(Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or run `make test`, " +
  "which installs it.";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once("exit", () => resolve());
  });
}

async function startOnce(port: number, dir: string): Promise<ChildProcess> {
  const proc = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "notice"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes("Ready to accept connections")) {
        proc.stdout!.off("data", onData);
        resolve();
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    proc.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "ENOENT" ? new Error(MISSING) : err));
    proc.once("exit", (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${out}`)));
  });
  proc.stdout!.resume();
  return proc;
}

/** Starts redis-server on a free port; stop() ends it and removes its directory. */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "ledger-reader-redis-"));
  let lastErr: unknown;
  // Another process may take the port between freePort and the bind: try a few ports.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    let proc: ChildProcess;
    try {
      proc = await startOnce(port, dir);
    } catch (err) {
      if (err instanceof Error && err.message === MISSING) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      lastErr = err;
      continue;
    }
    return {
      port,
      async stop() {
        const done = exited(proc);
        proc.kill("SIGTERM");
        await done;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastErr;
}
