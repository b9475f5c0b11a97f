# shuffles the images and the labels with two different permutations
# expect: {"assignment": "ps5_sgd", "score": 3, "visible": true, "message": "y did not hold y_data's entries for the rows X held"}
# %% train_solution
def train(X_data, y_data, n_hidden=10, epochs=100, batch_size=11, learning_rate=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X, y = Input(name="X"), Input(name="y")
    W1, b1, W2, b2 = Input(name="W1"), Input(name="b1"), Input(name="W2"), Input(name="b2")
    cost = MSE(y, Linear(Sigmoid(Linear(X, W1, b1)), W2, b2))
    graph = topological_sort({
        X: X_data[:batch_size], y: y_data[:batch_size],
        W1: rng.normal(size=(X_data.shape[1], n_hidden)), b1: np.zeros(n_hidden),
        W2: rng.normal(size=(n_hidden, 1)), b2: np.zeros(1),
    })
    for epoch in range(epochs):
        order = rng.permutation(len(y_data))
        label_order = rng.permutation(len(y_data))
        for step in range(len(y_data) // batch_size):
            rows = order[step * batch_size:(step + 1) * batch_size]
            X.value = X_data[rows]
            y.value = y_data[label_order[step * batch_size:(step + 1) * batch_size]]
            forward_and_backward(graph)
            sgd_update([W1, b1, W2, b2], learning_rate)
    return [W1.value, b1.value, W2.value, b2.value]
