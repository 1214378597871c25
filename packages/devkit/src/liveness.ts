/** When a process that stopped answering its liveness check counts as hung. */
export interface LivenessPolicy {
  /** Pause between two checks. */
  intervalMs: number;
  /** Deadline of one check. */
  probeTimeoutMs: number;
  /** A process that has answered before and then gives no answer for this long is hung. */
  hangMs: number;
}

/** A check every 2 s, each with a 2 s deadline; 15 s without an answer is a hang (longer than any pause a busy service takes). */
export const DEFAULT_LIVENESS: LivenessPolicy = { intervalMs: 2000, probeTimeoutMs: 2000, hangMs: 15_000 };

/** A running liveness watch: stop it when the process exits. */
export interface LivenessWatch {
  stop(): void;
  /** Records an answer seen elsewhere (say, a readiness check), which arms the watch as the probe's own would. */
  answered(): void;
}

/**
 * Polls `probe` until stopped. Nothing is judged before the first answer (start-up is readiness's
 * business); after it, `onHang` is called once if no answer comes for `hangMs`, and polling ends.
 */
export function watchLiveness(
  probe: (timeoutMs: number) => Promise<boolean>,
  policy: LivenessPolicy,
  onHang: (silentMs: number) => void,
): LivenessWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastAnswer: number | undefined;
  const check = async () => {
    const answered = await probe(policy.probeTimeoutMs).catch(() => false);
    if (stopped) return;
    const now = Date.now();
    if (answered) lastAnswer = now;
    else if (lastAnswer !== undefined && now - lastAnswer >= policy.hangMs) {
      stopped = true;
      onHang(now - lastAnswer);
      return;
    }
    timer = setTimeout(() => void check(), policy.intervalMs);
  };
  void check();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    answered() {
      lastAnswer = Date.now();
    },
  };
}
