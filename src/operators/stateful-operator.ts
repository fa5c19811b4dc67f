import type { OperatorFunction } from 'rxjs';
import { Observable } from '../util/rx';

/** A synchronous event processor: the plain core behind each operator (also usable without RxJS). */
export interface EventProcessor<I> {
  push(item: I): void;
  /** Input complete: emit whatever is still held. */
  flush(): void;
}

/**
 * Builds an operator around a processor created per subscription, so state lives in that
 * subscription's closure and is released when it ends (as RxJS's own stateful operators do).
 * A processor that throws errors the output instead of escaping into the producer.
 */
export function statefulOperator<I, O>(create: (emit: (o: O) => void) => EventProcessor<I>): OperatorFunction<I, O> {
  // Build one processor up front and drop it: bad options throw where the pipeline is written,
  // not later inside a subscription.
  create(() => undefined);
  return (source) =>
    new Observable<O>((subscriber) => {
      const processor = create((o) => subscriber.next(o));
      return source.subscribe({
        next(item) {
          try {
            processor.push(item);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err) => subscriber.error(err),
        complete() {
          try {
            processor.flush();
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.complete();
        },
      });
    });
}
