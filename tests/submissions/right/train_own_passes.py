# ps5_sgd: its own forward and backward loops over the sorted graph, each epoch's batches cut from the shuffle with reshape
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        t.value = np.subtract(t.value, np.multiply(learning_rate, t.gradients[t]))
# %% train_solution
def train(X_data, y_data, n_hidden=10, epochs=100, batch_size=11, learning_rate=0.05, seed=0):
    rng = np.random.default_rng(seed)
    W1_start = rng.normal(size=(X_data.shape[1], n_hidden))
    W2_start = rng.normal(size=(n_hidden, 1))
    X, y, W1, b1, W2, b2 = (Input(name=n) for n in ["X", "y", "W1", "b1", "W2", "b2"])
    hidden = Sigmoid(Linear(X, W1, b1))
    cost = MSE(y, Linear(hidden, W2, b2))
    graph = topological_sort({X: X_data, y: y_data, W1: W1_start, b1: np.zeros(n_hidden),
                              W2: W2_start, b2: np.zeros(1)})
    steps = len(y_data) // batch_size
    for _ in range(epochs):
        batches = rng.permutation(len(y_data))[:steps * batch_size].reshape(steps, batch_size)
        for rows in batches:
            X.value = X_data[rows]
            y.value = y_data[rows]
            for node in graph:
                node.forward()
            for node in reversed(graph):
                node.backward()
            sgd_update([W1, b1, W2, b2], learning_rate=learning_rate)
    return W1.value, b1.value, W2.value, b2.value
