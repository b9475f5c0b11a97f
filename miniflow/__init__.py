"""MiniFlow: a tiny TensorFlow-like library in NumPy, for learning how backpropagation works."""
from .check import gradient_check
from .draw import draw_graph
from .graph import (MiniflowError, Node, backward_pass, feed, forward_and_backward, forward_pass,
                    sort_nodes, topological_sort, trace)
from .nodes import MSE, Add, Input, Linear, Mul, ReLU, Sigmoid, SoftmaxCrossEntropy
from .optim import accuracy, predicted_classes, random_weights, sgd_update

__all__ = [
    "Node", "Input", "Add", "Mul", "Linear", "Sigmoid", "MSE", "ReLU", "SoftmaxCrossEntropy",
    "topological_sort", "sort_nodes", "feed", "forward_pass", "backward_pass", "forward_and_backward",
    "sgd_update", "random_weights", "predicted_classes", "accuracy",
    "gradient_check", "trace", "MiniflowError", "draw_graph",
]
