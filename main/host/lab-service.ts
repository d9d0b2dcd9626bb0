// The host side of the LabApi: a plain Node object that the Electron IPC glue and the browser-mode
// HTTP server both expose, and that tests call directly. `invokeLab` is the single entry for untrusted
// calls: it checks the method name and the arguments before any service code runs. Everything that
// touches files goes through the workspace (by name) or through a folder the user picked in a dialog.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LAB_API_ARGUMENTS,
  LabApiError,
  isLabMethod,
  type AppInfo,
  type LabApi,
  type LabMode,
  type LabReply,
  type WorkspaceInfo,
} from '../../shared/lab-api.js';
import { dataPreview, importDataFile, listDataFiles, prepareTokens, tokenData } from './app/app-data.js';
import { playgroundModel, PromptSets } from './app/app-generate.js';
import { AppDistill } from './app/app-distill.js';
import { AppInspect } from './app/app-inspect.js';
import { exportDownload, exportFolderName, exportFormats, exportToFolder } from './app/app-exports.js';
import { AppRuns } from './app/app-runs.js';
import { AppSweeps } from './app/app-sweeps.js';
import { listTemplates, readTemplate } from './app/app-templates.js';
import { RecentWorkspaces } from './app/recent.js';
import { Workspace } from './app/workspace.js';
import { listBundledTexts, readBundledText } from './bundled-texts.js';

/** `assets/` of a source checkout (the packaged app passes its resources folder instead). */
export const SOURCE_ASSETS_DIR = fileURLToPath(new URL('../../assets', import.meta.url));

/** Native dialogs, where the host has them (Electron); browser mode has none. */
export interface HostDialogs {
  /** A folder the user picks, or null when cancelled. */
  chooseFolder(title: string): Promise<string | null>;
}

export interface LabServiceOptions {
  mode: LabMode;
  /** The folder holding `text/` (bundled corpora) and `templates/`. */
  assetsDir: string;
  /** The workspace folder (graphs, runs, exports); without one, workspace methods report it missing. */
  workspaceDir?: string;
  /** Where recent workspaces are remembered (Electron: a file in userData). */
  settingsFile?: string;
  dialogs?: HostDialogs;
  /** The app's version; defaults to package.json's. */
  version?: string;
  /** Extra runtime versions to report (Electron adds electron and chrome). */
  versions?: Record<string, string>;
}

export function createLabService(options: LabServiceOptions): LabApi {
  const textDir = join(options.assetsDir, 'text');
  const templateDir = join(options.assetsDir, 'templates');
  const info: AppInfo = {
    name: 'StateLab',
    version: options.version ?? packageVersion(),
    mode: options.mode,
    platform: process.platform,
    versions: { node: process.versions.node, ...options.versions },
  };
  const recent = new RecentWorkspaces(options.settingsFile ?? null);
  let workspace: Workspace | null = null;
  const openWorkspace = (path: string): WorkspaceInfo => {
    workspace = new Workspace(path).ensure();
    recent.add(workspace.root);
    return describeWorkspace();
  };
  const describeWorkspace = (): WorkspaceInfo => {
    const ws = current('workspace');
    const known = options.settingsFile ? recent.list() : [ws.root];
    return { path: ws.root, recent: known.length ? known : [ws.root], dialogs: !!options.dialogs };
  };
  const current = (method: string): Workspace => {
    if (!workspace) throw new LabApiError('not-found', `${method}: no workspace is open`);
    return workspace;
  };
  const dialogs = (method: string): HostDialogs => {
    if (!options.dialogs) {
      throw new LabApiError('unsupported', `${method}: this host has no file dialogs (browser mode downloads instead)`);
    }
    return options.dialogs;
  };
  if (options.workspaceDir) openWorkspace(options.workspaceDir);
  const runs = new AppRuns(textDir, { statelab: info.version, app: options.mode, ...info.versions });
  const sweeps = new AppSweeps(current, options.mode !== 'electron'); // Sweep view (issue 14)
  const promptSets = new PromptSets(current); // Playground view (issue 13)
  const inspect = new AppInspect(current, options.mode !== 'electron'); // Inspect view (issue 8)
  const distill = new AppDistill(current, options.mode !== 'electron', textDir); // Distill view (issue 9)

  return {
    appInfo: async () => structuredClone(info),
    listTexts: async () => listBundledTexts(textDir),
    readText: async (id) => readBundledText(textDir, id),
    readTokens: async (spec) => tokenData(await prepareTokens(spec, textDir, workspace?.root ?? null)),
    previewData: async (spec) => dataPreview(await prepareTokens(spec, textDir, workspace?.root ?? null)),
    listDataFiles: async () => listDataFiles(current('listDataFiles').root),
    importDataFile: async (name, data) => importDataFile(current('importDataFile').root, name, data),

    workspace: async () => describeWorkspace(),
    chooseWorkspace: async () => {
      const folder = await dialogs('chooseWorkspace').chooseFolder('Choose a StateLab workspace folder');
      return folder ? openWorkspace(folder) : null;
    },
    openRecentWorkspace: async (path) => {
      if (!recent.list().includes(path)) {
        throw new LabApiError('bad-arguments', `openRecentWorkspace: "${path}" is not a recent workspace`);
      }
      return openWorkspace(path);
    },

    listTemplates: async () => listTemplates(templateDir),
    readTemplate: async (id) => readTemplate(templateDir, id),

    listGraphs: async () => current('listGraphs').listGraphs(),
    readGraph: async (name) => current('readGraph').readGraph(name),
    saveGraph: async (name, text) => current('saveGraph').saveGraph(name, text),

    createRun: async (request) => runs.create(current('createRun'), request),
    appendMetrics: async (runId, rows) => runs.appendMetrics(runId, rows),
    saveCheckpoint: async (runId, model, optimizer) => runs.saveCheckpoint(runId, model, optimizer),
    finishRun: async (runId, status, message) => runs.finish(runId, status, message),
    listRuns: async () => runs.list(current('listRuns').runsDir),
    readRun: async (runId) => runs.read(current('readRun').runsDir, runId),
    resumeRun: async (runId, steps) => runs.resume(current('resumeRun'), runId, steps),

    // ---- Export view (issue 10)
    exportFormats: async (runId) => exportFormats(current('exportFormats').runsDir, runId),
    exportCheckpoint: async (runId, step, format) => {
      const runsDir = current('exportCheckpoint').runsDir;
      const parent = await dialogs('exportCheckpoint').chooseFolder(`Choose where to save the ${format} export`);
      if (!parent) return null;
      const folder = join(parent, exportFolderName(runId, step, format));
      return { folder, files: exportToFolder(runsDir, runId, step, format, folder, info.version) };
    },
    exportDownload: async (runId, step, format) =>
      exportDownload(current('exportDownload').runsDir, runId, step, format, info.version),

    // ---- Sweep view (issue 14)
    listSweeps: async () => sweeps.list(),
    readSweep: async (ref) => sweeps.read(ref),
    startSweep: async (ref) => sweeps.start(ref),
    stopSweep: async () => sweeps.stop(),
    sweepProgress: async () => sweeps.progress(),
    sweepResults: async (ref) => sweeps.results(ref),
    sweepChart: async (ref, xAxis) => sweeps.chart(ref, xAxis),
    sweepCsv: async (ref) => sweeps.csv(ref),
    importSweepFile: async (name, text) => sweeps.import(name, text),

    // ---- Playground view (issue 13)
    playgroundModel: async (runId, step) => playgroundModel(current('playgroundModel').runsDir, runId, step),
    listPromptSets: async () => promptSets.list(),
    savePromptSet: async (set) => promptSets.save(set),
    deletePromptSet: async (name) => promptSets.delete(name),

    // ---- Inspect view (issue 8)
    inspectRun: async (runId) => inspect.info(runId),
    startAnalysis: async (runId, analysis, options) => inspect.start(runId, analysis, options),
    analysisProgress: async () => inspect.progress(),
    readAnalysis: async (runId, name) => inspect.read(runId, name),

    // ---- Distill view (issue 9)
    distillChoices: async () => distill.choices(),
    previewDistill: async (request) => distill.preview(request),
    startDistill: async (request) => distill.start(request),
    distillProgress: async (since) => distill.progress(since),
    stopDistill: async () => distill.stop(),
    readDistill: async (runId) => distill.read(runId),
  };
}

/** Validates an untrusted call (from IPC or HTTP) and runs it; throws `LabApiError` on bad input. */
export async function invokeLab(service: LabApi, method: string, args: unknown): Promise<unknown> {
  if (!isLabMethod(method)) throw new LabApiError('unknown-method', `unknown LabApi method "${method}"`);
  if (!Array.isArray(args)) throw new LabApiError('bad-arguments', `${method}: arguments must be an array`);
  const checked = LAB_API_ARGUMENTS[method](args);
  const call = service[method] as (...a: unknown[]) => Promise<unknown>;
  return call.apply(service, checked);
}

/** `invokeLab` as data: every failure becomes an error reply (unexpected ones as `internal`). */
export async function callLab(service: LabApi, method: string, args: unknown): Promise<LabReply> {
  try {
    return { result: await invokeLab(service, method, args) };
  } catch (error) {
    if (error instanceof LabApiError) return { error: { code: error.code, message: error.message } };
    return { error: { code: 'internal', message: `${method} failed: ${(error as Error).message}` } };
  }
}

function packageVersion(): string {
  const path = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
