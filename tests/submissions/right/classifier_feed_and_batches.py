# ps6_classification: each epoch's batches cut from the shuffle with reshape, fed with feed(), W1 sized from n_in
# %% classifier_solution
from miniflow import feed


def train_classifier(X_data, y_data, n_hidden=32, epochs=30, batch_size=32, learning_rate=0.2, seed=0):
    rng = np.random.default_rng(seed)
    n, n_in = X_data.shape
    weights = [random_weights(n_in, n_hidden, rng), np.zeros(n_hidden), random_weights(n_hidden, 10, rng), np.zeros(10)]
    X, y = Input(name="X"), Input(name="y")
    W1, b1, W2, b2 = trainables = [Input(name=name) for name in ("W1", "b1", "W2", "b2")]
    cost = SoftmaxCrossEntropy(y, Linear(ReLU(Linear(X, W1, b1)), W2, b2))
    graph = topological_sort({X: X_data, y: y_data, **dict(zip(trainables, weights))})
    steps = n // batch_size
    for _ in range(epochs):
        for rows in rng.permutation(n)[:steps * batch_size].reshape(steps, batch_size):
            feed({X: X_data[rows], y: y_data[rows]})
            forward_and_backward(graph)
            sgd_update(trainables, learning_rate)
    return [t.value for t in trainables]
