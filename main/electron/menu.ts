// The application menu. Items show the usual shortcuts but do not register them: the page handles the
// keys itself (so they work the same in browser mode and never fire twice), and a click on an item sends
// the page a MenuCommand. Clipboard items use Electron's roles, which reach the page as copy/paste events.

import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../../shared/lab-api.js';

/**
 * Every view, in the side bar's order (renderer/src/stores/app.ts's VIEWS). The first six keep the
 * Ctrl/Cmd+digit shortcuts the page handles itself (useMenuCommands); the later views have none.
 */
export const MENU_VIEWS: readonly { view: string; label: string; key?: string }[] = [
  { view: 'build', label: 'Build', key: '1' },
  { view: 'data', label: 'Data', key: '2' },
  { view: 'train', label: 'Train', key: '3' },
  { view: 'runs', label: 'Runs', key: '4' },
  { view: 'sweep', label: 'Sweeps' },
  { view: 'inspect', label: 'Inspect' },
  { view: 'distill', label: 'Distill' },
  { view: 'playground', label: 'Playground' },
  { view: 'export', label: 'Export', key: '5' },
  { view: 'diagnostics', label: 'GPU diagnostics', key: '6' },
];

export function menuTemplate(
  send: (command: MenuCommand) => void,
  options: { platform: string; appName: string; dev: boolean },
): MenuItemConstructorOptions[] {
  const item = (label: string, accelerator: string | undefined, command: MenuCommand): MenuItemConstructorOptions => ({
    label,
    accelerator,
    registerAccelerator: false,
    click: () => send(command),
  });
  const mac = options.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(mac
      ? [
          {
            label: options.appName,
            submenu: [{ role: 'about' }, { type: 'separator' }, { role: 'quit' }],
          } as MenuItemConstructorOptions,
        ]
      : []),
    {
      label: 'File',
      submenu: [
        item('New Graph', 'CmdOrCtrl+N', { command: 'new-graph' }),
        item('New from Template…', undefined, { command: 'templates' }),
        item('Open Graph…', 'CmdOrCtrl+O', { command: 'open-graph' }),
        { type: 'separator' },
        item('Save', 'CmdOrCtrl+S', { command: 'save' }),
        item('Save As…', 'CmdOrCtrl+Shift+S', { command: 'save-as' }),
        { type: 'separator' },
        item('Open Workspace Folder…', undefined, { command: 'choose-workspace' }),
        ...(mac
          ? []
          : [{ type: 'separator' } as MenuItemConstructorOptions, { role: 'quit' } as MenuItemConstructorOptions]),
      ],
    },
    {
      label: 'Edit',
      submenu: [
        item('Undo', 'CmdOrCtrl+Z', { command: 'undo' }),
        item('Redo', mac ? 'Shift+CmdOrCtrl+Z' : 'CmdOrCtrl+Y', { command: 'redo' }),
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        item('Duplicate', 'CmdOrCtrl+D', { command: 'duplicate' }),
        item('Delete', 'Delete', { command: 'delete' }),
        item('Select All Nodes', 'CmdOrCtrl+A', { command: 'select-all' }),
      ],
    },
    {
      label: 'View',
      submenu: [
        ...MENU_VIEWS.map((v) =>
          item(v.label, v.key ? `CmdOrCtrl+${v.key}` : undefined, { command: 'view', view: v.view }),
        ),
        { type: 'separator' },
        item('Fit Graph to Window', 'F', { command: 'fit-view' }),
        item('Toggle Dark Theme', undefined, { command: 'toggle-theme' }),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
        ...(options.dev ? [{ role: 'toggleDevTools' } as MenuItemConstructorOptions] : []),
      ],
    },
    { label: 'Help', submenu: [item('Keyboard Shortcuts', '?', { command: 'shortcuts' })] },
  ];
  return template;
}
