# returns the starting weights it kept, not the trained ones
# expect: {"assignment": "ps5_sgd", "score": 3, "visible": true, "message": "is its value from before training"}
# %% train_solution
def train(X_data, y_data, n_hidden=10, epochs=100, batch_size=11, learning_rate=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X, y = Input(name="X"), Input(name="y")
    W1, b1, W2, b2 = Input(name="W1"), Input(name="b1"), Input(name="W2"), Input(name="b2")
    cost = MSE(y, Linear(Sigmoid(Linear(X, W1, b1)), W2, b2))
    start = [rng.normal(size=(X_data.shape[1], n_hidden)), np.zeros(n_hidden), rng.normal(size=(n_hidden, 1)), np.zeros(1)]
    graph = topological_sort({
        X: X_data[:batch_size], y: y_data[:batch_size],
        W1: start[0].copy(), b1: start[1].copy(),
        W2: start[2].copy(), b2: start[3].copy(),
    })
    for epoch in range(epochs):
        order = rng.permutation(len(y_data))
        for step in range(len(y_data) // batch_size):
            rows = order[step * batch_size:(step + 1) * batch_size]
            X.value, y.value = X_data[rows], y_data[rows]
            forward_and_backward(graph)
            sgd_update([W1, b1, W2, b2], learning_rate)
    return start
