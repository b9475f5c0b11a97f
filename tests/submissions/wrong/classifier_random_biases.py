# draws b1 at random from the generator, where the task starts the biases at zero
# expect: {"assignment": "ps6_classification", "score": 10, "visible": true, "message": "the task starts b1 and b2 at zero"}
# %% classifier_solution
def train_classifier(X_data, y_data, n_hidden=32, epochs=30, batch_size=32, learning_rate=0.2, seed=0):
    rng = np.random.default_rng(seed)
    X, y = Input(name="X"), Input(name="y")
    W1, b1, W2, b2 = Input(name="W1"), Input(name="b1"), Input(name="W2"), Input(name="b2")
    cost = SoftmaxCrossEntropy(y, Linear(ReLU(Linear(X, W1, b1)), W2, b2))
    W1_start = random_weights(X_data.shape[1], n_hidden, rng)
    W2_start = random_weights(n_hidden, 10, rng)
    graph = topological_sort({
        X: X_data[:batch_size], y: y_data[:batch_size],
        W1: W1_start, b1: rng.normal(scale=0.01, size=n_hidden),
        W2: W2_start, b2: np.zeros(10),
    })
    for epoch in range(epochs):
        order = rng.permutation(len(y_data))
        for step in range(len(y_data) // batch_size):
            rows = order[step * batch_size:(step + 1) * batch_size]
            X.value, y.value = X_data[rows], y_data[rows]
            forward_and_backward(graph)
            sgd_update([W1, b1, W2, b2], learning_rate)
    return [W1.value, b1.value, W2.value, b2.value]
