/**
 * The RxJS values the library uses, loaded from RxJS's own module files (published under its
 * `rxjs/internal/*` export) instead of the `rxjs` index: the index loads every operator RxJS has,
 * ~40 ms of start-up that the CLI pays on every run. These are the very classes the index
 * re-exports, so they interoperate with an application's `import { Observable } from 'rxjs'`.
 */
export { Observable } from 'rxjs/internal/Observable';
export { Subject } from 'rxjs/internal/Subject';
export { pipe } from 'rxjs/internal/util/pipe';
export { filter } from 'rxjs/internal/operators/filter';
