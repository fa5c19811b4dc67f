import type { OperatorFunction, Subscription } from 'rxjs';
import { PushSource } from '../../src/util/push-source';

/**
 * Runs one of the library's RxJS operators inside a node: input messages are pushed into a
 * PushSource, the operator's output is handed to `onOutput` synchronously, so every event an input
 * causes is sent before that input's `done()`. `close()` unsubscribes without completing: a
 * redeploy must not flush open flows as if the capture had ended.
 */
export class OperatorBridge<I, O> {
  private input!: PushSource<I>;
  private subscription!: Subscription;
  private failure: Error | null = null;

  constructor(
    private readonly operator: OperatorFunction<I, O>,
    private readonly onOutput: (o: O) => void,
  ) {
    this.start();
  }

  /** Pushes items; throws the operator's error, if it failed, so the caller can `done(err)`. */
  push(items: readonly I[]): void {
    if (this.failure) {
      // The operator stopped on an error; start again with fresh state rather than stay dead.
      const err = this.failure;
      this.start();
      throw err;
    }
    for (const item of items) this.input.next(item);
    if (this.failure) throw this.failure;
  }

  /**
   * The input ended (msg.complete, e.g. a capture file's last message): the operator flushes what
   * it holds (open flows close as "eof", windows close), then a fresh pipeline takes new input.
   */
  finish(): void {
    this.input.complete();
    this.subscription.unsubscribe();
    const err = this.failure;
    this.start();
    if (err) throw err;
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private start(): void {
    this.failure = null;
    this.input = new PushSource<I>();
    this.subscription = this.input.pipe(this.operator).subscribe({
      next: this.onOutput,
      error: (err: Error) => {
        this.failure = err;
      },
    });
  }
}
