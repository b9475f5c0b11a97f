# the softmax subtracts the max, but the cost takes np.log of probabilities that round to 0
# expect: {"assignment": "ps6_classification", "score": 12, "visible": true, "message": "its log is -infinity"}
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
        self.value = -np.mean(np.log(self.probabilities[np.arange(len(classes)), classes]))

    def backward(self):
        labels, logits = self.inbound_nodes
        classes = np.asarray(labels.value).astype(int)
        n, k = self.probabilities.shape
        one_hot = np.eye(k)[classes]
        self.gradients[logits] = (self.probabilities - one_hot) / n * self.upstream_gradient()
        self.gradients[labels] = np.zeros(np.shape(labels.value))
