/**
 * The loader's preStop hook in Kubernetes (docs/kubernetes.md): `node /opt/aiges/dist/loader/tools/image/drain.js`
 * sends SIGTERM to the loader (PID 1 of its container; another pid as the first argument) and waits
 * until it has exited, so that the loader's own stop — not ready → deregister → drain → fini — runs
 * inside the pod's termination grace, before the kubelet's SIGTERM (then a no-op). The same pattern
 * as ingress-nginx's `/wait-shutdown`. node, because every base variant has it and none is promised
 * a shell. Exits 0 once the process is gone (or was never there).
 */
const POLL_MS = 200;

const pid = Number(process.argv[2] ?? '1');
if (!Number.isInteger(pid) || pid <= 0) {
  process.stderr.write(`drain: expects a process id, got "${process.argv[2]}"\n`);
  process.exit(2);
}

/** Whether `pid` still exists (signal 0 checks without signalling). */
function alive(): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

if (alive()) {
  process.kill(pid, 'SIGTERM');
  const timer = setInterval(() => {
    if (!alive()) clearInterval(timer);
  }, POLL_MS);
}
