"""The order in which backward() visits a graph: the one routine both engines use.

A backward pass may pass a node's gradient on only when that gradient is complete: after
every node that used the node has passed its share to it. A list in which every node comes
after all the nodes it was computed from (a *topological order*), read from the end to the
start, visits the nodes in just that way. `Value.backward()` and the tensor engine's
`backward()` both walk such a list, made here.

>>> from tinygrad_attn import Value
>>> a = Value(1.0, label="a")
>>> b = a + 1
>>> [v.label or v.op or v.data for v in (b * a).topological_order()]
['a', 1.0, '+', '*']
"""

__all__ = ["topological_order"]


def topological_order(root, children):
    """Every node `root` depends on (itself included), each listed after all the nodes it
    was computed from. `children(node)` gives the nodes it was computed from (None where
    there is none).

    It is a depth-first search with a stack of our own instead of recursion, so a graph a
    million nodes deep works. The first time a node comes off the stack it goes back on,
    under a marker, with its children on top; when the marker comes off, everything that
    was above it (its children and all they depend on) has been listed, so the node is
    listed next.
    """
    order, visited, stack = [], {None}, [root]
    push, pop, push_all = stack.append, stack.pop, stack.extend
    while stack:
        node = pop()
        if node is _LIST_NEXT:
            order.append(pop())
        elif node not in visited:
            visited.add(node)
            push(node)
            push(_LIST_NEXT)
            push_all(children(node))
    return order


_LIST_NEXT = object()  # the marker: the children are done, list the node below it
