import type { ReactNode } from "react";

/** A modal panel. Esc reaches the screen's cancel action, which closes it. */
export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
  testId?: string;
}) {
  return (
    <div className="overlay" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div className={props.wide ? "dialog wide" : "dialog"} role="dialog" aria-label={props.title} data-testid={props.testId}>
        <header>
          <h2>{props.title}</h2>
          <button className="icon" onClick={props.onClose} aria-label="Close">
            ✕
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}
