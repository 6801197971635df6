/**
 * The Node's `NetworkUnavailable` condition. Cloud node controllers set it to True on new nodes; the CNI that
 * makes pod networking work sets it to False, and until then the scheduler keeps pods off the node (the
 * `node.kubernetes.io/network-unavailable` taint). nodebgp sets it once its routes are in place.
 *
 *   PATCH /api/v1/nodes/NAME/status
 *   Content-Type: application/strategic-merge-patch+json
 *   {"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","reason":"NodebgpIsUp",…}]}}
 *
 * A strategic merge patch merges `conditions` by `type`, so the kubelet's conditions are left alone. The call
 * is idempotent: the Node is read first and nothing is written when the condition already says so; a write
 * keeps `lastTransitionTime` when the status was already False. Failures are retried with doubling backoff.
 */
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1NodeCondition,
} from '@kubernetes/client-node';
import type { Backoff } from './node-source.js';
import { describeError } from './node-source.js';

export const CONDITION_TYPE = 'NetworkUnavailable';
export const CONDITION_REASON = 'NodebgpIsUp';
export const CONDITION_MESSAGE = 'nodebgp is running and has installed the pod network routes';

export interface NodeStatusOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly backoff?: Backoff;
  /** Give up after this many attempts (default: never). */
  readonly maxAttempts?: number;
  readonly now?: () => Date;
  readonly onError?: (reason: string, attempt: number) => void;
}

/** The condition to write, given the one the Node has now (to keep its lastTransitionTime). */
export function networkAvailableCondition(current: V1NodeCondition | undefined, now: Date): V1NodeCondition {
  return {
    type: CONDITION_TYPE,
    status: 'False',
    reason: CONDITION_REASON,
    message: CONDITION_MESSAGE,
    lastTransitionTime:
      current?.status === 'False' && current.lastTransitionTime ? current.lastTransitionTime : now,
    lastHeartbeatTime: now,
  };
}

/** Whether the Node already says what we would write. */
export function conditionUpToDate(current: V1NodeCondition | undefined): boolean {
  return (
    current?.status === 'False' &&
    current.reason === CONDITION_REASON &&
    current.message === CONDITION_MESSAGE
  );
}

export class NodeStatusReporter {
  private readonly api: CoreV1Api;
  private cancelled = false;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: NodeStatusOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
  }

  /**
   * Sets NetworkUnavailable=False, retrying until it succeeds (or `maxAttempts`, or `cancel()`).
   * Resolves to 'patched', 'unchanged' (already so), or 'gave-up'.
   */
  async markNetworkAvailable(): Promise<'patched' | 'unchanged' | 'gave-up'> {
    const backoff = this.opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    let delay = backoff.initialMs;
    for (let attempt = 1; !this.cancelled; attempt++) {
      try {
        return await this.attempt();
      } catch (err) {
        this.opts.onError?.(
          `set ${CONDITION_TYPE} on node ${this.opts.nodeName}: ${describeError(err)}`,
          attempt,
        );
        if (this.opts.maxAttempts !== undefined && attempt >= this.opts.maxAttempts) return 'gave-up';
      }
      await this.sleep(delay);
      delay = Math.min(delay * 2, backoff.maxMs);
    }
    return 'gave-up';
  }

  cancel(): void {
    this.cancelled = true;
    this.wake?.();
  }

  private async attempt(): Promise<'patched' | 'unchanged'> {
    const node = await this.api.readNode({ name: this.opts.nodeName });
    const current = node.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
    if (conditionUpToDate(current)) return 'unchanged';
    const condition = networkAvailableCondition(current, (this.opts.now ?? (() => new Date()))());
    await this.api.patchNodeStatus(
      { name: this.opts.nodeName, body: { status: { conditions: [condition] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    return 'patched';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
