# draws a new permutation at every step instead of once per epoch, so an epoch's batches overlap and some rows are never seen
# expect: {"assignment": "ps6_classification", "score": 10, "visible": true, "message": "was drawn at every step, not once per epoch"}
# %% classifier_solution
def train_classifier(X_data, y_data, n_hidden=32, epochs=30, batch_size=32, learning_rate=0.2, seed=0):
    rng = np.random.default_rng(seed)
    X, y = Input(name="X"), Input(name="y")
    W1, b1, W2, b2 = Input(name="W1"), Input(name="b1"), Input(name="W2"), Input(name="b2")
    cost = SoftmaxCrossEntropy(y, Linear(ReLU(Linear(X, W1, b1)), W2, b2))
    graph = topological_sort({
        X: X_data[:batch_size], y: y_data[:batch_size],
        W1: random_weights(X_data.shape[1], n_hidden, rng), b1: np.zeros(n_hidden),
        W2: random_weights(n_hidden, 10, rng), b2: np.zeros(10),
    })
    trainables = [W1, b1, W2, b2]
    steps_per_epoch = len(y_data) // batch_size
    for epoch in range(epochs):
        for step in range(steps_per_epoch):
            order = rng.permutation(len(y_data))
            rows = order[step * batch_size:(step + 1) * batch_size]   # sample a mini-batch
            X.value, y.value = X_data[rows], y_data[rows]
            forward_and_backward(graph)                              # forward, backward
            sgd_update(trainables, learning_rate)                    # update (sgd)
    return [t.value for t in trainables]
