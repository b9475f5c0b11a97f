# the mean of one_hot * log p over every entry of the (n, k) matrix, which also divides the cost by k
# expect: {"assignment": "ps6_classification", "score": 12, "visible": true, "message": "the mean ran over all n * k entries"}
# %% cross_entropy_solution
class SoftmaxCrossEntropy(Node):
    r"""$C = -\frac{1}{n}\sum_i \log p_{i, y_i}$ with $p$ the softmax of each row of the logits; $\partial C/\partial z = (p - \mathrm{onehot}(y))/n$."""

    def __init__(self, labels, logits, name=None):
        super().__init__([labels, logits], name)

    def forward(self):
        """Set self.probabilities to the softmax of each row of the logits (n, k), and self.value to the mean cost.

        Subtract each row's largest logit before np.exp, and compute log p with log-sum-exp, so that
        logits of +-1000 give a finite cost.
        """
        labels, logits = self.inbound_nodes
        classes = np.asarray(labels.value).astype(int)
        z = logits.value - logits.value.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.probabilities = np.exp(log_p)
        one_hot = np.eye(logits.value.shape[1])[classes]
        self.value = -(one_hot * log_p).mean()

    def backward(self):
        """Set self.gradients[logits] = (p - one_hot) / n * self.upstream_gradient(), and self.gradients[labels] = zeros.

        p is self.probabilities, left by the forward pass; one_hot has a 1 in each row at that example's
        label. The labels' gradient is np.zeros(np.shape(labels.value)).
        """
        labels, logits = self.inbound_nodes
        classes = np.asarray(labels.value).astype(int)
        n, k = self.probabilities.shape
        one_hot = np.eye(k)[classes]
        self.gradients[logits] = (self.probabilities - one_hot) / n * self.upstream_gradient()
        self.gradients[labels] = np.zeros(np.shape(labels.value))
