// Helpers for the common "one invocation per element" launch: WebGPU caps each grid dimension at
// 65535 workgroups, so large tensors spill into the y dimension.

export const WORKGROUP_SIZE = 256;
const MAX_GROUPS_X = 65535;

export function linearGrid(elements: number, workgroupSize = WORKGROUP_SIZE): [number, number] {
  const groups = Math.max(1, Math.ceil(elements / workgroupSize));
  if (groups <= MAX_GROUPS_X) return [groups, 1];
  return [MAX_GROUPS_X, Math.ceil(groups / MAX_GROUPS_X)];
}

/** WGSL entry-point header for a linear grid; defines `i`, the element index. */
export function linearMain(workgroupSize = WORKGROUP_SIZE): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${workgroupSize}u;`;
}
