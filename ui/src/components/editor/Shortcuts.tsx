// The flow editor's keyboard shortcuts and the `?` dialog that lists them.
import { Modal } from '../ui';

export const SHORTCUTS: { keys: string[]; what: string }[] = [
  { keys: ['?'], what: 'Show these shortcuts' },
  { keys: ['↓', 'j'], what: 'Select the next step (the trigger first)' },
  { keys: ['↑', 'k'], what: 'Select the previous step' },
  { keys: ['a'], what: 'Add a step after the selected one (type to search, Enter to add)' },
  { keys: ['Enter'], what: 'Go to the first field of the selected step' },
  { keys: ['Ctrl+S', '⌘S'], what: 'Save' },
  { keys: ['r'], what: 'Run the flow' },
  { keys: ['Shift+R'], what: 'Run to here: run up to the selected step' },
  { keys: ['t'], what: 'Test the selected step' },
  { keys: ['Esc'], what: 'Leave a field (then the keys above work); close a dialog or the suggestions' },
];

/** Whether a key event lands in a field the user is typing in (shortcuts stay out of its way). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !['button', 'checkbox', 'radio', 'submit', 'reset'].includes(target.type);
  return false;
}

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-dialog">
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.what}>
              <td>
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i ? ' or ' : null}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
