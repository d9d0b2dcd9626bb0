// Tape autograd. Every op that produces a tensor from inputs that require gradients records a node
// (its inputs and a backward rule). `backward` walks the nodes reachable from the loss in reverse
// topological order and accumulates gradients; leaves (parameters) keep theirs in `.grad`.

import { Tensor, type TapeNode } from './tensor.js';
import { add } from './ops/elementwise.js';

/** Attaches a backward rule to `output` when grad mode is on and some input requires gradients. */
export function record(output: Tensor, op: string, inputs: Tensor[], backward: TapeNode['backward']): Tensor {
  if (output.engine.isGradEnabled && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.node = { op, inputs, backward };
  }
  return output;
}

/** Marks a tensor as a trainable leaf. */
export function parameter(tensor: Tensor, name = ''): Tensor {
  tensor.requiresGrad = true;
  if (name) tensor.name = name;
  return tensor;
}

export function backward(loss: Tensor, seed?: Tensor): void {
  const engine = loss.engine;
  if (!loss.requiresGrad) throw new Error(`backward: ${loss.describe()} does not require gradients`);
  if (!seed && loss.size !== 1) {
    throw new Error(`backward: ${loss.describe()} is not a scalar; pass the upstream gradient`);
  }
  const order = tapeOrder(loss);
  const grads = new Map<Tensor, Tensor>();
  engine.noGrad(() => {
    grads.set(loss, seed ?? engine.fromArray([1], loss.shape));
    for (let i = order.length - 1; i >= 0; i--) {
      const tensor = order[i];
      const grad = grads.get(tensor);
      if (!grad) continue;
      const node = tensor.node;
      if (!node) {
        tensor.grad = tensor.grad ? add(tensor.grad, grad) : grad;
        continue;
      }
      const inputGrads = node.backward(grad);
      node.inputs.forEach((input, k) => {
        const g = inputGrads[k];
        if (!g || !input.requiresGrad) return;
        const previous = grads.get(input);
        grads.set(input, previous ? add(previous, g) : g);
      });
    }
  });
}

/** The tensors reachable from `root` through the tape, inputs before the ops that use them. */
export function tapeOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: deep recurrent graphs would overflow the JS stack with recursion.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [tensor, expanded] = stack.pop()!;
    if (expanded) {
      order.push(tensor);
      continue;
    }
    if (visited.has(tensor)) continue;
    visited.add(tensor);
    stack.push([tensor, true]);
    for (const input of tensor.node?.inputs ?? [])
      if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
  }
  return order;
}
