# the cost takes log(p + 1e-9) instead of log-sum-exp
# expect: {"assignment": "ps6_classification", "score": 12, "visible": true, "message": "a small number (1e-09) was added to p inside the log"}
# %% cross_entropy_solution
class SoftmaxCrossEntropy(Node):
    r"""Mean cross-entropy of softmax(logits) against the labels."""

    def __init__(self, labels, logits, name=None):
        super().__init__([labels, logits], name)

    def forward(self):
        labels, logits = self.inbound_nodes
        classes = np.asarray(labels.value).astype(int)
        e = np.exp(logits.value - logits.value.max(axis=1, keepdims=True))
        self.probabilities = e / e.sum(axis=1, keepdims=True)
        self.value = -np.log(self.probabilities[np.arange(len(classes)), classes] + 1e-9).mean()

    def backward(self):
        labels, logits = self.inbound_nodes
        classes = np.asarray(labels.value).astype(int)
        n, k = self.probabilities.shape
        one_hot = np.eye(k)[classes]
        self.gradients[logits] = (self.probabilities - one_hot) / n * self.upstream_gradient()
        self.gradients[labels] = np.zeros(np.shape(labels.value))
