# ps6_classification: scipy's logsumexp, one-hot rows from np.eye, and backward computing the softmax again
# %% cross_entropy_solution
from scipy.special import logsumexp


class SoftmaxCrossEntropy(Node):
    r"""Mean cross-entropy of softmax(logits) against the labels."""

    def __init__(self, labels, logits, name=None):
        super().__init__([labels, logits], name)

    def forward(self):
        labels, logits = self.inbound_nodes
        z = logits.value
        log_p = z - logsumexp(z, axis=1, keepdims=True)
        one_hot = np.eye(z.shape[1])[np.asarray(labels.value, dtype=int)]
        self.probabilities = np.exp(log_p)
        self.value = -np.sum(one_hot * log_p) / len(z)

    def backward(self):
        labels, logits = self.inbound_nodes
        z = logits.value
        p = np.exp(z - logsumexp(z, axis=1, keepdims=True))
        one_hot = np.eye(z.shape[1])[np.asarray(labels.value, dtype=int)]
        self.gradients = {logits: self.upstream_gradient() * (p - one_hot) / len(z),
                          labels: np.zeros_like(labels.value, dtype=float)}
