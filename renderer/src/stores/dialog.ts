// In-app dialogs (confirm, choose, ask for a name) as promises, so stores can ask the user in the middle
// of an action ("Save changes before opening another graph?") and components only render the question.

import { defineStore } from 'pinia';
import { shallowRef } from 'vue';

export interface DialogButton<T extends string = string> {
  id: T;
  label: string;
  primary?: boolean;
}

export interface DialogRequest {
  title: string;
  message: string;
  buttons: DialogButton[];
  /** When set, the dialog shows a text field with this initial value. */
  input?: { label: string; value: string; pattern?: RegExp; hint?: string };
}

interface Pending extends DialogRequest {
  resolve(answer: { button: string; value: string }): void;
}

export const useDialogStore = defineStore('dialog', () => {
  const current = shallowRef<Pending | null>(null);

  function ask(request: DialogRequest): Promise<{ button: string; value: string }> {
    // One dialog at a time: a new question cancels the one still open.
    current.value?.resolve({ button: 'cancel', value: '' });
    return new Promise((resolve) => {
      current.value = {
        ...request,
        resolve: (answer) => {
          current.value = null;
          resolve(answer);
        },
      };
    });
  }

  async function confirm(title: string, message: string, ok = 'OK'): Promise<boolean> {
    const answer = await ask({
      title,
      message,
      buttons: [
        { id: 'cancel', label: 'Cancel' },
        { id: 'ok', label: ok, primary: true },
      ],
    });
    return answer.button === 'ok';
  }

  async function prompt(
    title: string,
    message: string,
    input: NonNullable<DialogRequest['input']>,
  ): Promise<string | null> {
    const answer = await ask({
      title,
      message,
      input,
      buttons: [
        { id: 'cancel', label: 'Cancel' },
        { id: 'ok', label: 'OK', primary: true },
      ],
    });
    return answer.button === 'ok' ? answer.value : null;
  }

  return { current, ask, confirm, prompt };
});
