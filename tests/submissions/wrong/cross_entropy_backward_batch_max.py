# the backward computes the softmax again, shifted by the batch's largest logit
# expect: {"assignment": "ps6_classification", "score": 12, "visible": true, "message": "shifted by the largest logit of the whole batch"}
# %% cross_entropy_solution
class SoftmaxCrossEntropy(Node):
    r"""Mean cross-entropy of softmax(logits) against the labels."""

    def __init__(self, labels, logits, name=None):
        super().__init__([labels, logits], name)

    def forward(self):
        labels, logits = self.inbound_nodes
        classes = np.asarray(labels.value).astype(int)
        z = logits.value - logits.value.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.probabilities = np.exp(log_p)
        self.value = -log_p[np.arange(len(classes)), classes].mean()

    def backward(self):
        labels, logits = self.inbound_nodes
        classes = np.asarray(labels.value).astype(int)
        n, k = self.probabilities.shape
        one_hot = np.eye(k)[classes]
        e = np.exp(logits.value - logits.value.max())
        p = e / e.sum(axis=1, keepdims=True)
        self.gradients[logits] = (p - one_hot) / n * self.upstream_gradient()
        self.gradients[labels] = np.zeros(np.shape(labels.value))
