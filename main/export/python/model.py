# The model --------------------------------------------------------------------------------------------


def build_node(node):
    """The module of one graph node (None for nodes without parameters: tokens, add, block input/output)."""
    kind, config = node["kind"], node["config"]
    if kind == "embedding":
        return nn.Embedding(config["num_embeddings"], config["dim"])
    if kind == "norm":
        return Norm(config["width"], config["type"], config["eps"])
    if kind == "mlp":
        return GatedMLP(config["width"], config["hidden"], config["activation"])
    if kind == "linear":
        return nn.Linear(config["in_features"], config["out_features"], bias=config["bias"])
    if kind == "lm_head":
        return LMHead(config["width"], config["vocab_size"], config["tied"])
    if kind.startswith("mixer."):
        return MIXERS[kind[len("mixer.") :]](**config)
    return None


class Nodes(nn.Module):
    """Graph nodes in execution order, each module registered under its node id, so parameter names are
    StateLab's: `<id>.<param>` at the top level, `<repeat id>.<copy>.<id>.<param>` inside repeated blocks."""

    def __init__(self, nodes, blocks):
        super().__init__()
        self.nodes = nodes
        for node in nodes:
            if node["kind"] == "repeat":
                block = blocks[node["config"]["block"]]
                self.add_module(node["id"], nn.ModuleList(Nodes(block, blocks) for _ in range(node["config"]["count"])))
            elif (module := build_node(node)) is not None:
                self.add_module(node["id"], module)

    def evaluate(self, values, prefix, state, new_state, embedding, shared):
        """Runs the nodes in order; `values` maps "node.port" to tensors. Mixer states are keyed by the
        mixer's full name (`layers.0.attn`). `shared` is one dict per forward that layers with `uses_shared`
        read and write in this order (RWKV-7's value residual). Returns the value reaching the block's
        output, if any."""
        for node in self.nodes:
            kind, name = node["kind"], node["id"]
            inputs = {port: values[ref] for port, ref in node["inputs"].items()}
            module = getattr(self, name, None)
            if kind in ("tokens", "block.input"):
                continue
            if kind == "block.output":
                return inputs["x"]
            if kind == "add":
                out = inputs["a"] + inputs["b"]
            elif kind == "repeat":
                out = inputs["x"]
                for i, copy in enumerate(module):
                    out = copy.run_block(out, f"{prefix}{name}.{i}.", state, new_state, embedding, shared)
            elif kind == "lm_head":
                out = module(inputs["x"], embedding())
            elif kind.startswith("mixer.") and getattr(module, "uses_shared", False):
                out, new_state[prefix + name] = module(inputs["x"], state.get(prefix + name), shared)
            elif kind.startswith("mixer."):
                out, new_state[prefix + name] = module(inputs["x"], state.get(prefix + name))
            else:
                (value,) = inputs.values()
                out = module(value)
            values[f"{name}.{node['output']}"] = out
        return None

    def run_block(self, x, prefix, state, new_state, embedding, shared):
        values = {f"{n['id']}.x": x for n in self.nodes if n["kind"] == "block.input"}
        return self.evaluate(values, prefix, state, new_state, embedding, shared)


class StateLabForCausalLM(Nodes):
    """The exported graph: ids [B, T] -> logits [B, T, vocab].

    forward(ids, state) also returns each mixer's state after the last token: pass it back with the next
    tokens to continue the sequence (streaming generation), or leave it None to start fresh.
    """

    def __init__(self, config):
        plan = config["statelab_plan"]
        super().__init__(plan["top"], plan["blocks"])
        self.config = config
        self.head = next(n["id"] for n in plan["top"] if n["kind"] == "lm_head")
        self.embedding = next((n["id"] for n in plan["top"] if n["kind"] == "embedding"), None)

    def forward(self, ids, state=None):
        values = {f"{n['id']}.ids": ids for n in self.nodes if n["kind"] == "tokens"}
        new_state = {}
        self.evaluate(values, "", state or {}, new_state, lambda: getattr(self, self.embedding).weight, {})
        return values[f"{self.head}.logits"], new_state
