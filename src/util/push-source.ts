import type { Subscriber } from 'rxjs';
import { Observable } from './rx';

/**
 * The input end of a pipeline its owner feeds by hand, for exactly one subscriber: `next` is a
 * direct call into it. RxJS's Subject serves many observers and, in its published ES5 build,
 * walks them with an iterator per value: three short-lived objects per packet, a fifth of the
 * Kafka consumer's garbage. Values pushed while nobody is subscribed are dropped, as a Subject
 * drops them.
 */
export class PushSource<T> extends Observable<T> {
  private sink: Subscriber<T> | null = null;

  constructor() {
    super((subscriber) => {
      if (this.sink && !this.sink.closed) {
        subscriber.error(new Error('PushSource: already has a subscriber (it feeds exactly one)'));
        return;
      }
      this.sink = subscriber;
      return () => {
        if (this.sink === subscriber) this.sink = null;
      };
    });
  }

  next(value: T): void {
    this.sink?.next(value);
  }

  error(err: unknown): void {
    this.sink?.error(err);
  }

  complete(): void {
    this.sink?.complete();
  }
}
