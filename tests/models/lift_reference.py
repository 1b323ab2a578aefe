"""A float64 reference of LIFT's CLIP model, written from the formulas of
the foundation-track spec with plain tensor operations: CLIP's vision
tower with AdaptFormer branches, the cosine head, the logit-adjusted loss,
and CLIP's text tower for the head's initialisation.

Parameters are given in CLIP's own terms (``conv1``, ``class_embedding``,
``ln_1``, ``in_proj``, ``c_fc`` ...), as plain dicts of tensors.
"""
import math

import torch
import torch.nn.functional as F

LN_EPS = 1e-5


def layer_norm(x, weight, bias, eps=LN_EPS):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean)**2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def attention(x, block, num_heads, causal=False):
    """Multi-head self-attention with CLIP's packed input projection."""
    batch, tokens, width = x.shape
    qkv = x @ block['in_proj_weight'].T + block['in_proj_bias']
    q, k, v = (
        t.reshape(batch, tokens, num_heads,
                  width // num_heads).transpose(1, 2)
        for t in qkv.split(width, dim=-1))
    scores = q @ k.transpose(-2, -1) / math.sqrt(width // num_heads)
    if causal:
        future = torch.ones(tokens, tokens, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(future, float('-inf'))
    out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(
        batch, tokens, width)
    return out @ block['out_proj_weight'].T + block['out_proj_bias']


def mlp(x, block):
    hidden = quick_gelu(x @ block['c_fc_weight'].T + block['c_fc_bias'])
    return hidden @ block['c_proj_weight'].T + block['c_proj_bias']


def adaptformer(h, adapter):
    """``s * up(ReLU(down(LN_A(h))))``."""
    down = layer_norm(h, adapter['ln_weight'],
                      adapter['ln_bias']) @ adapter['down_weight'].T
    up = torch.relu(down + adapter['down_bias']) @ adapter['up_weight'].T
    return adapter['scale'] * (up + adapter['up_bias'])


def block_forward(x, block, num_heads, causal=False):
    """``h = x + Attn(LN1(x))``; ``h + MLP(LN2(h)) + A(h)`` (no ``A``
    without an adapter)."""
    h = x + attention(
        layer_norm(x, block['ln_1_weight'], block['ln_1_bias']), block,
        num_heads, causal)
    out = h + mlp(
        layer_norm(h, block['ln_2_weight'], block['ln_2_bias']), block)
    if block.get('adapter') is not None:
        out = out + adaptformer(h, block['adapter'])
    return out


def vision_features(p, images, patch_size, num_heads):
    """The class token after ``ln_post``, before CLIP's projection."""
    tokens = F.conv2d(images, p['conv1'], stride=patch_size)
    tokens = tokens.flatten(2).transpose(1, 2)
    cls = p['class_embedding'].expand(tokens.shape[0], 1, -1)
    x = torch.cat([cls, tokens], dim=1) + p['positional_embedding']
    x = layer_norm(x, *p['ln_pre'])
    for block in p['blocks']:
        x = block_forward(x, block, num_heads)
    return layer_norm(x[:, 0], *p['ln_post'])


def cosine_logits(features, weight, scale=25.0):
    return scale * F.normalize(
        features, dim=-1) @ F.normalize(
            weight, dim=-1).T


def logit_adjusted_loss(logits, target, counts, tau=1.0):
    """``mean_b CE(z_b + tau * log pi, y_b)``, ``pi = n / N``."""
    counts = counts.to(logits)
    log_prior = torch.log(counts / counts.sum())
    return F.cross_entropy(logits + tau * log_prior, target)


def text_features(p, tokens, num_heads):
    """CLIP's text tower: the end-of-text token (highest id) after
    ``ln_final``, through ``text_projection``."""
    x = p['token_embedding'][tokens] + p['positional_embedding']
    for block in p['blocks']:
        x = block_forward(x, block, num_heads, causal=True)
    x = layer_norm(x, *p['ln_final'])
    eot = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)]
    return eot @ p['text_projection']


def text_head_init(p, token_sets, num_heads, visual_projection):
    """LIFT's ``text_feat`` initialisation: per template set of tokens the
    normalised text features, their mean over templates, mapped with
    ``t @ proj.T`` and normalised again."""
    features = [
        F.normalize(text_features(p, tokens, num_heads), dim=-1)
        for tokens in token_sets
    ]
    mean = torch.stack(features).mean(dim=0)
    return F.normalize(mean @ visual_projection.T, dim=-1)


def params_of(vit, head_weight, adapters):
    """The weights of MMPretrain's ``VisionTransformer`` ``vit`` in CLIP's
    terms (the key mapping of the foundation-track spec), as detached
    copies; the adapter and head copies require grad.

    Args:
        vit: The ``VisionTransformer``; its blocks may be wrapped by
            adapter layers (``.layer``, maybe more than once, is then the
            block).
        head_weight: The cosine classifier's ``[C, D]`` weight.
        adapters: Per block, its ``AdaptFormer`` (``ln``, ``down``, ``up``,
            ``scale``) or None.
    """

    def copy(t, grad=False):
        return t.detach().clone().requires_grad_(grad)

    blocks = []
    for layer, a in zip(vit.layers, adapters):
        while hasattr(layer, 'layer'):
            layer = layer.layer
        adapter = None
        if a is not None:
            adapter = dict(
                ln_weight=copy(a.ln.weight, True),
                ln_bias=copy(a.ln.bias, True),
                down_weight=copy(a.down.weight, True),
                down_bias=copy(a.down.bias, True),
                up_weight=copy(a.up.weight, True),
                up_bias=copy(a.up.bias, True),
                scale=copy(a.scale, True)
                if isinstance(a.scale, torch.Tensor) else a.scale)
        blocks.append(
            dict(
                ln_1_weight=copy(layer.ln1.weight),
                ln_1_bias=copy(layer.ln1.bias),
                in_proj_weight=copy(layer.attn.qkv.weight),
                in_proj_bias=copy(layer.attn.qkv.bias),
                out_proj_weight=copy(layer.attn.proj.weight),
                out_proj_bias=copy(layer.attn.proj.bias),
                ln_2_weight=copy(layer.ln2.weight),
                ln_2_bias=copy(layer.ln2.bias),
                c_fc_weight=copy(layer.ffn.layers[0][0].weight),
                c_fc_bias=copy(layer.ffn.layers[0][0].bias),
                c_proj_weight=copy(layer.ffn.layers[1].weight),
                c_proj_bias=copy(layer.ffn.layers[1].bias),
                adapter=adapter))
    return dict(
        conv1=copy(vit.patch_embed.projection.weight),
        class_embedding=copy(vit.cls_token.reshape(-1)),
        positional_embedding=copy(vit.pos_embed[0]),
        ln_pre=(copy(vit.pre_norm.weight), copy(vit.pre_norm.bias)),
        ln_post=(copy(vit.ln1.weight), copy(vit.ln1.bias)),
        blocks=blocks,
        head=copy(head_weight, True))
